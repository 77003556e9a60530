package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

var q5Types = []DType{Q5_0, Q5_1}

// q5Case builds rows weight rows and one activation row of nb blocks for
// the 5-bit typ; mode picks the distribution:
//
//	0 random quants, activations from QuantizeActivations
//	1 all bits set (high bits and nibbles: q = 31), ±127 activations
//	2 ±127 activations
//	3 zero weight and activation scales, at random
//	4 all high bits set, random nibbles
//	5 no high bits, all-max nibbles
//	6 arbitrary activation bytes, runs of -128 (the kernels take any int8)
func q5Case(rng *rand.Rand, typ DType, rows, nb, mode int) (w, x []byte) {
	if mode < 4 {
		return asmCase(rng, typ, rows, nb, mode)
	}
	w, x = asmCase(rng, typ, rows, nb, 0)
	bb, qh := typ.BlockBytes(), typ.BlockBytes()-20
	for i := 0; i < len(w); i += bb {
		switch mode {
		case 4:
			copy(w[i+qh:i+qh+4], []byte{0xff, 0xff, 0xff, 0xff})
		case 5:
			copy(w[i+qh:i+qh+4], []byte{0, 0, 0, 0})
			for j := qh + 4; j < bb; j++ {
				w[i+j] = 0xff
			}
		}
	}
	if mode == 6 {
		xb := VecDotType(typ).BlockBytes()
		for i := 0; i < len(x); i += xb {
			for j := xb - 32; j < xb; j++ {
				x[i+j] = byte(rng.Uint32())
				if rng.IntN(2) == 0 {
					x[i+j] = 0x80
				}
			}
		}
	}
	return w, x
}

// TestAsmQ5MatchesGo checks the Q5_0/Q5_1 kernels (one-row, r4, x4)
// against the pure-Go ones bit for bit through MatMul: random shapes
// (crossing asmRowTile, the four-row groups and the four-token groups),
// unaligned slices, extreme values.
func TestAsmQ5MatchesGo(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, typ := range q5Types {
		for iter := 0; iter < 350; iter++ {
			nb := 1 + rng.IntN(24)   // 32..768 elements
			rows := 1 + rng.IntN(40) // crosses asmRowTile and the four-row groups
			nx := 1 + rng.IntN(10)   // x4 groups and leftover tokens
			mode := iter % 7
			got, wu, xu, ld := asmVsGo(t, rng, mmCase{typ: typ, rows: rows, nb: nb, bs: 32, nx: nx, md: mode, mk: q5Case})
			// Batched and single-token products agree: each token alone
			// takes the r4 and one-row kernels instead of x4.
			xb := VecDotType(typ).RowBytes(nb * 32)
			one := make([]float32, rows)
			for j := 0; j < nx; j++ {
				withAsm(true, func() { MatVec(typ, wu, rows, nb*32, xu[j*xb:], one) })
				for r, v := range one {
					if math.Float32bits(v) != math.Float32bits(got[j*ld+r]) {
						t.Fatalf("%v nb=%d rows=%d nx=%d mode=%d: token %d row %d single %v, batched %v", typ, nb, rows, nx, mode, j, r, v, got[j*ld+r])
					}
				}
			}
		}
	}
}

// TestAsmQ5Kernels calls each kernel directly against the Go dot product,
// so that a shape-dependent dispatch cannot hide one of them.
func TestAsmQ5Kernels(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(43, 44))
	for _, typ := range q5Types {
		bb, xbb := typ.BlockBytes(), VecDotType(typ).BlockBytes()
		goDot, one := dotQ5_0, dotQ5_0Q8_0AVX2
		if typ == Q5_1 {
			goDot, one = dotQ5_1, dotQ5_1Q8_1AVX2
		}
		for iter := 0; iter < 200; iter++ {
			nb, mode := 1+rng.IntN(13), iter%7
			w, x := q5Case(rng, typ, 4, nb, mode)
			for j := 1; j < 4; j++ {
				_, xj := q5Case(rng, typ, 1, nb, mode)
				x = append(x, xj...)
			}
			ws, xs := nb*bb, nb*xbb
			var want [4][4]float32 // [row][token]
			p := make([]uint64, nb*legacyStride)
			for j := 0; j < 4; j++ {
				packQ8(x[j*xs:], nb, typ == Q5_1, p)
				for r := 0; r < 4; r++ {
					want[r][j] = goDot(w[r*ws:(r+1)*ws], p)
				}
			}
			check := func(kernel string, r, j int, got float32) {
				t.Helper()
				if math.Float32bits(got) != math.Float32bits(want[r][j]) {
					t.Fatalf("%v %s nb=%d mode=%d row %d token %d: asm %v, Go %v", typ, kernel, nb, mode, r, j, got, want[r][j])
				}
			}
			var o [4]float32
			for j := 0; j < 4; j++ {
				for r := 0; r < 4; r++ {
					check("one-row", r, j, one(&w[r*ws], &x[j*xs], nb))
				}
				dotLegacyRows4(typ, &w[0], ws, &x[j*xs], nb, &o)
				for r, v := range o {
					check("r4", r, j, v)
				}
			}
			for r := 0; r < 4; r++ {
				dotLegacy4(typ, &w[r*ws], &x[0], xs, nb, &o)
				for j, v := range o {
					check("x4", r, j, v)
				}
			}
		}
	}
}
