package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

var allTypes = []DType{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q4_K, Q5_K, Q6_K, Q8_K}

func randNormal(rng *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64()) * scale
	}
	return x
}

func quantize(t *testing.T, typ DType, x []float32) []byte {
	t.Helper()
	b := make([]byte, typ.RowBytes(len(x)))
	if err := QuantizeRow(typ, x, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func dequantize(t *testing.T, typ DType, b []byte, n int) []float32 {
	t.Helper()
	y := make([]float32, n)
	if err := DequantizeRow(typ, b, y); err != nil {
		t.Fatal(err)
	}
	return y
}

// TestRoundTripError bounds the relative RMS error of quantize→dequantize on
// Gaussian data (ggml's reference quantizers reach roughly these figures).
func TestRoundTripError(t *testing.T) {
	maxRel := map[DType]float64{
		F32: 0, F16: 0.0005, BF16: 0.004, Q8_0: 0.006, Q8_1: 0.006, Q8_K: 0.009,
		Q4_0: 0.13, Q4_1: 0.10, Q5_0: 0.065, Q5_1: 0.05, Q4_K: 0.09, Q5_K: 0.045, Q6_K: 0.025,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := randNormal(rng, 4096, 0.02)
	for _, typ := range allTypes {
		y := dequantize(t, typ, quantize(t, typ, x), len(x))
		var se, sx float64
		for i := range x {
			d := float64(y[i]) - float64(x[i])
			se += d * d
			sx += float64(x[i]) * float64(x[i])
		}
		rel := math.Sqrt(se / sx)
		t.Logf("%-5v relative RMSE %.5f", typ, rel)
		if rel > maxRel[typ] {
			t.Errorf("%v: relative RMSE %.5f > %.5f", typ, rel, maxRel[typ])
		}
	}
}

// TestQuantizeLegacyRules checks ggml's exact rules on crafted blocks.
func TestQuantizeLegacyRules(t *testing.T) {
	block := func(vals ...float32) []float32 { x := make([]float32, 32); copy(x, vals); return x }
	tests := []struct {
		name string
		typ  DType
		x    []float32
		d    float32 // expected stored scale
		q    []int   // expected quants of the first len(q) elements, offset removed
	}{
		// d = max/-8 with max the signed element of largest magnitude.
		{"q4_0 negative max", Q4_0, block(-4, 3.5, 0, 1), 0.5, []int{-8, 7, 0, 2}},
		// A positive max gives a negative d; the opposite extreme clamps at 15.
		{"q4_0 positive max clamps", Q4_0, block(4, -4, 2), -0.5, []int{-8, 7, -4}},
		// The first element of largest magnitude wins.
		{"q4_0 tie first wins", Q4_0, block(-2, 2), 0.25, []int{-8, 7}},
		{"q5_0 negative max", Q5_0, block(-8, 7.5, 0.24, 0.26), 0.5, []int{-16, 15, 0, 1}},
		// Q8_0 rounds half away from zero (roundf), d = amax/127.
		{"q8_0 ties away", Q8_0, block(127, 2.5, -2.5, 0.5, -0.49), 1, []int{127, 3, -3, 1, 0}},
		{"q8_0 zero block", Q8_0, block(), 0, []int{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := quantize(t, tc.typ, tc.x)
			if d := halfAt(b); d != tc.d {
				t.Fatalf("d = %v, want %v", d, tc.d)
			}
			for j, want := range tc.q {
				if got := legacyQuant(tc.typ, b, j); int(got) != want {
					t.Errorf("q[%d] = %d, want %d", j, got, want)
				}
			}
		})
	}
}

func TestQuantizeMinTypes(t *testing.T) {
	x := make([]float32, 32)
	for j := range x {
		x[j] = -1 + float32(j)*0.1 // min -1, max 2.1
	}
	x[5] = 0.5499 // (0.5499+1)/d with d=3.1/15: 7.4995 -> 7 (truncation of +0.5)
	b := quantize(t, Q4_1, x)
	if d, m := halfAt(b), halfAt(b[2:]); d != F16ToF32(F32ToF16((x[31]-x[0])/15)) || m != -1 {
		t.Fatalf("q4_1 d=%v m=%v", d, m)
	}
	if q := legacyQuant(Q4_1, b, 5); q != 7 {
		t.Errorf("q4_1 q[5] = %d, want 7", q)
	}
	if q0, q31 := legacyQuant(Q4_1, b, 0), legacyQuant(Q4_1, b, 31); q0 != 0 || q31 != 15 {
		t.Errorf("q4_1 extremes %d %d", q0, q31)
	}
	b = quantize(t, Q5_1, x)
	if q0, q31 := legacyQuant(Q5_1, b, 0), legacyQuant(Q5_1, b, 31); q0 != 0 || q31 != 31 {
		t.Errorf("q5_1 extremes %d %d", q0, q31)
	}
}

func TestQuantizeQ8Sums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := randNormal(rng, 512, 1)
	b1 := quantize(t, Q8_1, x)
	for i := 0; i < 16; i++ {
		blk := b1[i*36 : (i+1)*36]
		var sum int32
		for _, q := range blk[4:] {
			sum += int32(int8(q))
		}
		var amax float32
		for _, v := range x[i*32 : (i+1)*32] {
			amax = max(amax, abs32(v))
		}
		// s uses the unrounded float32 d, not the stored f16 one.
		if want := F32ToF16(float32(sum) * (amax / 127)); le16(blk[2:]) != want {
			t.Fatalf("block %d: s=%#04x want %#04x", i, le16(blk[2:]), want)
		}
	}
	bk := quantize(t, Q8_K, x)
	for i := 0; i < 2; i++ {
		blk := bk[i*292 : (i+1)*292]
		var amax float32
		var maxAt int
		for j, v := range x[i*256 : (i+1)*256] {
			if abs32(v) > amax {
				amax, maxAt = abs32(v), j
			}
		}
		if q := int8(blk[4+maxAt]); q != -127 {
			t.Errorf("Q8_K block %d: largest element quantized to %d, want -127", i, q)
		}
		if d := f32le(blk); d != 1/(-127/x[i*256+maxAt]) {
			t.Errorf("Q8_K block %d: d = %v", i, d)
		}
		for j := 0; j < 16; j++ {
			var sum int32
			for _, q := range blk[4+16*j : 4+16*j+16] {
				sum += int32(int8(q))
			}
			if got := int32(int16(binary.LittleEndian.Uint16(blk[260+2*j:]))); got != sum {
				t.Fatalf("Q8_K block %d bsum %d = %d, want %d", i, j, got, sum)
			}
		}
	}
}

// TestKQuantScaleRules: the reference K-quantizers give the largest sub-block
// scale the top code (63 for Q4_K/Q5_K; -128 for Q6_K, whose d has the sign
// of the largest scale).
func TestKQuantScaleRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := randNormal(rng, 1024, 0.05)
	for _, typ := range []DType{Q4_K, Q5_K} {
		b := quantize(t, typ, x)
		for i := 0; i < 4; i++ {
			blk := b[i*typ.BlockBytes():]
			var maxSc, maxMn uint8
			for j := 0; j < 8; j++ {
				sc, m := scaleMinK4(j, (*[12]byte)(blk[4:]))
				maxSc, maxMn = max(maxSc, sc), max(maxMn, m)
			}
			if maxSc != 63 || maxMn != 63 {
				t.Errorf("%v block %d: max scale %d, max min %d, want 63", typ, i, maxSc, maxMn)
			}
		}
	}
	b := quantize(t, Q6_K, x)
	for i := 0; i < 4; i++ {
		found := false
		for _, s := range b[i*210+192 : i*210+208] {
			found = found || int8(s) == -128
		}
		if !found {
			t.Errorf("Q6_K block %d: no scale is -128", i)
		}
	}
}

// TestQuantizeIdempotent: data that a format represents exactly (with its
// largest code in use) quantizes back to the same bytes.
func TestQuantizeIdempotent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, typ := range []DType{Q4_0, Q5_0, Q8_0} {
		b := make([]byte, typ.RowBytes(256))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		for i := 0; i < 8; i++ {
			blk := b[i*typ.BlockBytes():]
			binary.LittleEndian.PutUint16(blk, F32ToF16(float32(rng.Float64()+0.1)))
			switch typ { // element 0 takes the extreme negative code
			case Q4_0:
				blk[2] &^= 15
			case Q5_0:
				blk[6] &^= 15
				blk[2] &^= 1
			case Q8_0:
				for j := 2; j < 34; j++ {
					blk[j] = max(blk[j], 0x81) // no -128: -127 stays the extreme
				}
				blk[2] = 0x81
			}
		}
		x := dequantize(t, typ, b, 256)
		if got := quantize(t, typ, x); string(got) != string(b) {
			t.Errorf("%v: quantize(dequantize(b)) != b", typ)
		}
	}
}

func TestRowErrors(t *testing.T) {
	tests := []struct {
		name   string
		typ    DType
		nbytes int
		n      int
	}{
		{"unknown type", DType(10), 100, 256},
		{"partial block", Q4_0, 18, 31},
		{"short source", Q4_K, 143, 256},
		{"short f16", F16, 3, 2},
	}
	for _, tc := range tests {
		if err := DequantizeRow(tc.typ, make([]byte, tc.nbytes), make([]float32, tc.n)); err == nil {
			t.Errorf("%s: DequantizeRow succeeded", tc.name)
		}
		if err := QuantizeRow(tc.typ, make([]float32, tc.n), make([]byte, tc.nbytes)); err == nil {
			t.Errorf("%s: QuantizeRow succeeded", tc.name)
		}
	}
}
