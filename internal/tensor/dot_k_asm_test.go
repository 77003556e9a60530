package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

var kTypes = []DType{Q4_K, Q6_K, Q5_K}

// kAsmCase builds rows weight rows and one Q8_K activation row of nb
// super-blocks for the K-quant typ; mode picks the distribution:
//
//	0 random quants and scale bytes, activations from QuantizeActivations
//	1 all quant and scale bits set (Q6_K scales -1), ±127 activations
//	2 ±127 activations
//	3 zero f16 scales and zero Q8_K scales, at random
//	4 largest quants, scales at the int8/6-bit extremes (Q6_K -128 and 127)
//	5 arbitrary activation bytes: -128 quants, bsums that do not match them
func kAsmCase(rng *rand.Rand, typ DType, rows, nb, mode int) (w, x []byte) {
	n := nb * qkK
	w = randomBlocks(rng, typ, n*rows)
	x = QuantizeActivations(typ, randNormal(rng, n, 1), nil)
	bb := typ.BlockBytes()
	setScales := func(v float32) {
		for i := 0; i < len(w); i += bb {
			for _, off := range scaleFields(typ) {
				binary.LittleEndian.PutUint16(w[i+off:], F32ToF16(v*float32(1-2*rng.IntN(2))))
			}
		}
	}
	switch mode {
	case 1:
		for i := range w {
			w[i] = 0xff
		}
		setScales(0.01)
		fallthrough
	case 2:
		for i := 0; i < len(x); i += 292 {
			q := int8(127)
			if rng.IntN(2) == 0 {
				q = -127
			}
			for j := 4; j < 260; j++ {
				x[i+j] = byte(q)
			}
			for j := 0; j < 16; j++ {
				binary.LittleEndian.PutUint16(x[i+260+2*j:], uint16(16*int16(q)))
			}
		}
	case 3:
		for i := 0; i < len(w); i += bb {
			for _, off := range scaleFields(typ) {
				if rng.IntN(2) == 0 {
					binary.LittleEndian.PutUint16(w[i+off:], 0)
				}
			}
		}
		for i := 0; i < len(x); i += 292 {
			if rng.IntN(3) == 0 {
				binary.LittleEndian.PutUint32(x[i:], 0)
			}
		}
	case 4:
		for i := 0; i < len(w); i += bb {
			b := w[i : i+bb]
			if typ == Q6_K {
				for j := 0; j < 192; j++ {
					b[j] = 0xff
				}
				for j := 192; j < 208; j++ {
					b[j] = []byte{0x80, 0x7f, 0xff, 0x01}[rng.IntN(4)]
				}
				continue
			}
			for j := 16; j < bb; j++ {
				b[j] = 0xff
			}
			for j := 4; j < 16; j++ {
				b[j] = []byte{0xff, 0xff, 0x00, 0xc0, 0x3f}[rng.IntN(5)]
			}
		}
	case 5:
		for i := 0; i < len(x); i += 292 {
			for j := 4; j < 292; j++ {
				x[i+j] = byte(rng.Uint32())
			}
			if rng.IntN(2) == 0 {
				for j := 4; j < 260; j++ {
					x[i+j] = 0x80
				}
			}
		}
	}
	return w, x
}

// TestAsmKMatchesGo checks the K-quant kernels against the pure-Go ones
// bit for bit through MatMul: random shapes (crossing the four-row groups
// and the prefill tile), unaligned slices, extreme values.
func TestAsmKMatchesGo(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, typ := range kTypes {
		for iter := 0; iter < 240; iter++ {
			nb := 1 + rng.IntN(12)   // 256..3072 elements
			rows := 1 + rng.IntN(38) // crosses kRowTile and the four-row groups
			nx := 1 + rng.IntN(9)    // x4 groups and leftover tokens
			mode := iter % 6
			asmVsGo(t, rng, mmCase{typ: typ, rows: rows, nb: nb, bs: qkK, nx: nx, md: mode, mk: kAsmCase})
		}
	}
}

// TestAsmKBatchInvariant checks that a token's outputs do not depend on the
// batch it comes in (batched decode relies on it) nor on the row range.
func TestAsmKBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, typ := range kTypes {
		const rows, nb, nx = 23, 3, 5
		w, x := kAsmCase(rng, typ, rows, nb, 0)
		for j := 1; j < nx; j++ {
			_, xj := kAsmCase(rng, typ, 1, nb, 0)
			x = append(x, xj...)
		}
		all := make([]float32, nx*rows)
		MatMul(typ, w, rows, nb*qkK, x, nx, all, rows)
		xb, rb := Q8_K.RowBytes(nb*qkK), typ.RowBytes(nb*qkK)
		for j := 0; j < nx; j++ {
			for r0 := 0; r0 < rows; r0 += 3 {
				one := make([]float32, rows-r0)
				MatVec(typ, w[r0*rb:], rows-r0, nb*qkK, x[j*xb:(j+1)*xb], one)
				for r := range one {
					if math.Float32bits(one[r]) != math.Float32bits(all[j*rows+r0+r]) {
						t.Fatalf("%v token %d row %d (from %d): alone %v, batched %v", typ, j, r0+r, r0, one[r], all[j*rows+r0+r])
					}
				}
			}
		}
	}
}

// TestAsmKZeroCols checks the empty-row shapes of the assembly path.
func TestAsmKZeroCols(t *testing.T) {
	for _, typ := range kTypes {
		out := []float32{1, 2, 3}
		MatVec(typ, nil, 3, 0, nil, out)
		if out[0] != 0 || out[1] != 0 || out[2] != 0 {
			t.Fatalf("%v: %v", typ, out)
		}
	}
}
