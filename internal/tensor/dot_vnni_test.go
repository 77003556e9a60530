//go:build amd64 && !purego

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVNNIMatchesAVX2 checks that the VNNI form of the four-token Q4_1
// kernel gives the AVX2 form's results bit for bit (prefill shapes: many
// activation rows), including the extreme-value modes.
func TestVNNIMatchesAVX2(t *testing.T) {
	if !useAsm || !hasVNNI() {
		t.Skip("no AVX512-VNNI")
	}
	defer func(v bool) { vnniOn = v }(vnniOn)
	rng := rand.New(rand.NewPCG(31, 32))
	for iter := 0; iter < 200; iter++ {
		nb, rows, nx, mode := 1+rng.IntN(48), 1+rng.IntN(40), 4+rng.IntN(13), iter%4
		w, x := asmCase(rng, Q4_1, rows, nb, mode)
		for j := 1; j < nx; j++ {
			_, xj := asmCase(rng, Q4_1, 1, nb, mode)
			x = append(x, xj...)
		}
		var outs [2][]float32
		for i, on := range []bool{false, true} {
			vnniOn = on
			outs[i] = make([]float32, nx*rows)
			MatMul(Q4_1, w, rows, nb*32, x, nx, outs[i], rows)
		}
		for i := range outs[0] {
			if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
				t.Fatalf("nb=%d rows=%d nx=%d mode=%d: out[%d] AVX2 %v, VNNI %v", nb, rows, nx, mode, i, outs[0][i], outs[1][i])
			}
		}
	}
}
