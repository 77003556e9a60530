package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// withAsm runs f with the assembly kernels switched on or off.
func withAsm(on bool, f func()) {
	old := useAsm
	useAsm = on
	defer func() { useAsm = old }()
	f()
}

// asmCase builds weights and activations of nb blocks for typ; mode picks
// the quant distribution: 0 random bytes, 1 largest codes, 2 ±127
// activations, 3 zero scales.
func asmCase(rng *rand.Rand, typ DType, rows, nb, mode int) (w, x []byte) {
	n := nb * 32
	w = randomBlocks(rng, typ, n*rows)
	vt := VecDotType(typ)
	x = QuantizeActivations(typ, randNormal(rng, n, 1), nil)
	switch mode {
	case 1:
		for i := range w {
			w[i] = 0xff
		}
		if typ == Q8_0 {
			for i := range w {
				w[i] = 0x80 // -128 weights are exact (activations are not)
			}
		}
		for i := 0; i < len(w); i += typ.BlockBytes() {
			for _, off := range scaleFields(typ) {
				binary.LittleEndian.PutUint16(w[i+off:], F32ToF16(0.01))
			}
		}
		fallthrough
	case 2:
		off := 2
		if vt == Q8_1 {
			off = 4
		}
		for i := 0; i < len(x); i += vt.BlockBytes() {
			q := int8(127)
			if rng.IntN(2) == 0 {
				q = -127
			}
			for j := off; j < vt.BlockBytes(); j++ {
				x[i+j] = byte(q)
			}
			binary.LittleEndian.PutUint16(x[i:], F32ToF16(0.02))
			if vt == Q8_1 {
				binary.LittleEndian.PutUint16(x[i+2:], F32ToF16(float32(q)*32*0.02))
			}
		}
	case 3:
		for i := 0; i < len(w); i += typ.BlockBytes() {
			if rng.IntN(2) == 0 {
				for _, off := range scaleFields(typ) {
					binary.LittleEndian.PutUint16(w[i+off:], 0)
				}
			}
		}
		for i := 0; i < len(x); i += vt.BlockBytes() {
			if rng.IntN(3) == 0 {
				binary.LittleEndian.PutUint16(x[i:], 0)
			}
		}
	}
	return w, x
}

// TestAsmMatchesGo checks the assembly kernels against the pure-Go ones bit
// for bit, on unaligned slices of random shapes.
func TestAsmMatchesGo(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, typ := range []DType{Q4_1, Q4_0, Q8_0} {
		for iter := 0; iter < 300; iter++ {
			nb := 1 + rng.IntN(48)   // 32..1536 elements
			rows := 1 + rng.IntN(40) // crosses asmRowTile and the four-row groups
			nx := 1 + rng.IntN(10)
			mode := iter % 4
			asmVsGo(t, rng, mmCase{typ: typ, rows: rows, nb: nb, bs: 32, nx: nx, md: mode, mk: asmCase})
		}
	}
}

// TestAsmQ8Min checks that Q8_0 activations of -128 (which the Q8_0 kernel
// cannot take) still give the exact result.
func TestAsmQ8Min(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	w := randomBlocks(rng, Q8_0, 256)
	x := extremeActivations(Q8_0, 256, -128)
	x[2+34*3+5] = 0x80
	var got, want [1]float32
	withAsm(asmAvailable, func() { MatVec(Q8_0, w, 1, 256, x, got[:]) })
	withAsm(false, func() { MatVec(Q8_0, w, 1, 256, x, want[:]) })
	if got != want {
		t.Fatalf("asm %v, Go %v", got, want)
	}
	if !hasQ8Min(x, 8) || hasQ8Min(QuantizeActivations(Q8_0, randNormal(rng, 256, 1), nil), 8) {
		t.Fatal("hasQ8Min wrong")
	}
}

// TestAsmNoAllocs checks that MatVec and MatMul allocate nothing per call,
// for every type with an assembly path (decode's 0 allocs/op rests on it).
func TestAsmNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, typ := range asmTypes {
		w := randomBlocks(rng, typ, 512*64)
		x := QuantizeActivations(typ, randNormal(rng, 512*5, 1), nil)
		out := make([]float32, 64*5)
		MatMul(typ, w, 64, 512, x, 5, out, 64)
		if n := testing.AllocsPerRun(20, func() { MatVec(typ, w, 64, 512, x, out) }); n != 0 {
			t.Errorf("%v: %v allocs per MatVec", typ, n)
		}
		if n := testing.AllocsPerRun(20, func() { MatMul(typ, w, 64, 512, x, 5, out, 64) }); n != 0 {
			t.Errorf("%v: %v allocs per MatMul", typ, n)
		}
	}
}

// asmTypes are the weight types with assembly kernels.
var asmTypes = []DType{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K}

// BenchmarkMatVecOutput is the output layer of SmolLM2-135M (Q8_0, 49152
// rows of 576); run with KVPACK_NOASM=1 for the pure-Go path.
func BenchmarkMatVecOutput(b *testing.B) {
	benchMatVec(b, Q8_0, 49152, 576)
}

// mmCase is one asm-vs-Go MatMul comparison: rows weight rows and nx
// activation rows of nb blocks of bs elements, built by mk (weights of the
// given rows and one activation row per call) in the given value mode.
type mmCase struct {
	typ                  DType
	rows, nb, bs, nx, md int
	mk                   func(rng *rand.Rand, typ DType, rows, nb, mode int) (w, x []byte)
}

// asmVsGo runs the case with the assembly kernels on unaligned copies and
// with the Go kernels on the originals, failing on any bit difference. It
// returns the assembly output and what it ran on, for further checks.
func asmVsGo(t *testing.T, rng *rand.Rand, c mmCase) (got []float32, wu, xu []byte, ld int) {
	t.Helper()
	w, xs := c.mk(rng, c.typ, c.rows, c.nb, c.md)
	for j := 1; j < c.nx; j++ {
		_, xj := c.mk(rng, c.typ, 1, c.nb, c.md)
		xs = append(xs, xj...)
	}
	wo, xo := 1+rng.IntN(31), 1+rng.IntN(31)
	wu = append(make([]byte, wo), w...)[wo:]
	xu = append(make([]byte, xo), xs...)[xo:]
	ld = c.rows + rng.IntN(3)
	got = make([]float32, (c.nx-1)*ld+c.rows)
	want := make([]float32, len(got))
	withAsm(true, func() { MatMul(c.typ, wu, c.rows, c.nb*c.bs, xu, c.nx, got, ld) })
	withAsm(false, func() { MatMul(c.typ, w, c.rows, c.nb*c.bs, xs, c.nx, want, ld) })
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%v nb=%d rows=%d nx=%d mode=%d: out[%d] asm %v, Go %v", c.typ, c.nb, c.rows, c.nx, c.md, i, got[i], want[i])
		}
	}
	return got, wu, xu, ld
}
