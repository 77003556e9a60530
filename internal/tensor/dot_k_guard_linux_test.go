package tensor

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
)

// guarded returns a copy of b that ends where an inaccessible page begins,
// so that a kernel reading past the end of its operands faults.
func guarded(t *testing.T, b []byte) []byte {
	t.Helper()
	ps := syscall.Getpagesize()
	n := (len(b) + ps - 1) / ps * ps
	m, err := syscall.Mmap(-1, 0, n+ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(m) })
	if err := syscall.Mprotect(m[n:], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	g := m[n-len(b) : n : n]
	copy(g, b)
	return g
}

// TestAsmKNoOverread runs every K-quant kernel (one-row, r4, x4) on operands
// that end at a guard page: the Q6_K scale is the last two bytes of a block
// and the Q8_K bsums the last 32 of an activation block.
func TestAsmKNoOverread(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(37, 38))
	for _, typ := range kTypes {
		for _, sh := range [][2]int{{5, 5}, {4, 1}, {1, 4}, {8, 8}} {
			kNoOverread(t, rng, typ, sh[0], sh[1])
		}
	}
}

// kNoOverread runs rows x nx (2 super-blocks each) with both operands ending
// at a guard page, so the last weight row and activation row sit at its edge.
func kNoOverread(t *testing.T, rng *rand.Rand, typ DType, rows, nx int) {
	const nb = 2
	w, x := kAsmCase(rng, typ, rows, nb, 0)
	for j := 1; j < nx; j++ {
		_, xj := kAsmCase(rng, typ, 1, nb, 0)
		x = append(x, xj...)
	}
	got := make([]float32, nx*rows)
	want := make([]float32, nx*rows)
	wg, xg := guarded(t, w), guarded(t, x)
	withAsm(true, func() { MatMul(typ, wg, rows, nb*qkK, xg, nx, got, rows) })
	withAsm(false, func() { MatMul(typ, w, rows, nb*qkK, x, nx, want, rows) })
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%v %dx%d: out[%d] asm %v, Go %v", typ, rows, nx, i, got[i], want[i])
		}
	}
}
