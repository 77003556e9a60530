package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAsmQ5NoOverread runs the Q5_0/Q5_1 kernels on operands that end at a
// guard page, in shapes where each kernel (one-row, r4, x4) reads the last
// weight block or the last activation block: the quants are the last 16
// bytes of a weight block and the last 32 of an activation block.
func TestAsmQ5NoOverread(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(47, 48))
	shapes := [][2]int{{1, 1}, {4, 1}, {5, 1}, {1, 4}, {5, 5}, {8, 8}} // rows, nx
	for _, typ := range q5Types {
		for _, sh := range shapes {
			for nb := 1; nb <= 5; nb++ {
				rows, nx := sh[0], sh[1]
				w, x := q5Case(rng, typ, rows, nb, 0)
				for j := 1; j < nx; j++ {
					_, xj := q5Case(rng, typ, 1, nb, 0)
					x = append(x, xj...)
				}
				got := make([]float32, nx*rows)
				want := make([]float32, nx*rows)
				wg, xg := guarded(t, w), guarded(t, x)
				withAsm(true, func() { MatMul(typ, wg, rows, nb*32, xg, nx, got, rows) })
				withAsm(false, func() { MatMul(typ, w, rows, nb*32, x, nx, want, rows) })
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v rows=%d nx=%d nb=%d: out[%d] asm %v, Go %v", typ, rows, nx, nb, i, got[i], want[i])
					}
				}
			}
		}
	}
}
