package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

var weightTypes = []DType{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K}

func isFloat(t DType) bool { return t == F32 || t == F16 || t == BF16 }

// scaleFields lists the byte offsets of the f16 scales in a block of t.
func scaleFields(t DType) []int {
	switch t {
	case Q4_1, Q5_1, Q4_K, Q5_K:
		return []int{0, 2}
	case Q6_K:
		return []int{208}
	}
	return []int{0}
}

// randomBlocks returns a row of n elements of t with uniformly random quants
// and sane random f16 scales: every bit pattern of the quant fields occurs,
// including the extremes the SWAR bounds must survive.
func randomBlocks(rng *rand.Rand, t DType, n int) []byte {
	b := make([]byte, t.RowBytes(n))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for i := 0; i < len(b); i += t.BlockBytes() {
		for _, off := range scaleFields(t) {
			v := float32(rng.Float64()*0.1+0.001) * float32(1-2*rng.IntN(2))
			binary.LittleEndian.PutUint16(b[i+off:], F32ToF16(v))
		}
	}
	return b
}

// extremeActivations returns activations of VecDotType(t) whose quants are
// all q (e.g. -128): the worst case for the SWAR lane bounds.
func extremeActivations(t DType, n int, q int8) []byte {
	vt := VecDotType(t)
	x := make([]byte, vt.RowBytes(n))
	for i := 0; i < len(x); i += vt.BlockBytes() {
		blk := x[i : i+vt.BlockBytes()]
		switch vt {
		case Q8_K:
			binary.LittleEndian.PutUint32(blk, math.Float32bits(0.01))
			for j := 4; j < 260; j++ {
				blk[j] = byte(q)
			}
			for j := 0; j < 16; j++ {
				binary.LittleEndian.PutUint16(blk[260+2*j:], uint16(int16(16*int(q))))
			}
		default: // Q8_0, Q8_1
			off := vt.BlockBytes() - 32
			binary.LittleEndian.PutUint16(blk, F32ToF16(0.01))
			if vt == Q8_1 {
				binary.LittleEndian.PutUint16(blk[2:], F32ToF16(0.01*32*float32(q)))
			}
			for j := off; j < off+32; j++ {
				blk[j] = byte(q)
			}
		}
	}
	return x
}

// absDot is Σ|w_i*x_i| over the dequantized rows: the scale of the rounding
// error a float32 dot product may make.
func absDot(typ DType, n int, w, x []byte) float64 {
	wf, xf := make([]float32, n), make([]float32, n)
	_ = DequantizeRow(typ, w, wf)
	_ = DequantizeRow(VecDotType(typ), x, xf)
	var mag float64
	for i := range wf {
		mag += math.Abs(float64(wf[i]) * float64(xf[i]))
	}
	return mag
}

// checkDot compares VecDot with the float64 reference (relative to the sum
// of absolute products) and, for quantized types, with ggml's generic recipe
// bit for bit.
func checkDot(t *testing.T, typ DType, n int, w, x []byte) {
	t.Helper()
	got := VecDot(typ, n, w, x)
	ref := vecDotRef(typ, n, w, x)
	mag := absDot(typ, n, w, x)
	if diff := math.Abs(float64(got) - ref); diff > 2e-6*mag+1e-30 {
		t.Errorf("%v n=%d: VecDot %v, reference %v (|diff| %.3g, scale %.3g)", typ, n, got, ref, diff, mag)
	}
	if !isFloat(typ) {
		if g := genericDot(typ, n, w, x); got != g {
			t.Errorf("%v n=%d: VecDot %v != generic %v", typ, n, got, g)
		}
	}
}

func TestVecDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, typ := range weightTypes {
		for _, n := range []int{256, 512, 1536} {
			w := quantize(t, typ, randNormal(rng, n, 0.05))
			x := QuantizeActivations(typ, randNormal(rng, n, 1), nil)
			checkDot(t, typ, n, w, x)
			if !isFloat(typ) {
				checkDot(t, typ, n, randomBlocks(rng, typ, n), x)
			}
		}
	}
}

func TestVecDotExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, typ := range weightTypes {
		if isFloat(typ) {
			continue
		}
		for _, q := range []int8{-128, 127, -127} {
			w := randomBlocks(rng, typ, 512)
			checkDot(t, typ, 512, w, extremeActivations(typ, 512, q))
			for i := range w { // all-ones quant bits: largest codes everywhere
				w[i] = 0xff
			}
			for i := 0; i < len(w); i += typ.BlockBytes() {
				for _, off := range scaleFields(typ) {
					binary.LittleEndian.PutUint16(w[i+off:], F32ToF16(0.01))
				}
			}
			checkDot(t, typ, 512, w, extremeActivations(typ, 512, q))
		}
	}
}

func TestMatVecMatchesVecDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const rows, cols = 7, 512
	for _, typ := range weightTypes {
		rb := typ.RowBytes(cols)
		w := quantize(t, typ, randNormal(rng, rows*cols, 0.05))
		x := QuantizeActivations(typ, randNormal(rng, cols, 1), make([]byte, 3))
		out := make([]float32, rows+1)
		out[rows] = 42
		MatVec(typ, w, rows, cols, x, out)
		for r := 0; r < rows; r++ {
			if want := VecDot(typ, cols, w[r*rb:(r+1)*rb], x); out[r] != want {
				t.Errorf("%v row %d: MatVec %v, VecDot %v", typ, r, out[r], want)
			}
		}
		if out[rows] != 42 {
			t.Errorf("%v: MatVec wrote past rows", typ)
		}
	}
}

// TestMatMul: several activation rows, a worker's row range (lo..hi) and an
// output stride of the full row count, as a prefill loop uses it.
func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const rows, cols, nx, lo, hi = 9, 512, 3, 2, 7
	for _, typ := range weightTypes {
		rb, xb := typ.RowBytes(cols), VecDotType(typ).RowBytes(cols)
		w := quantize(t, typ, randNormal(rng, rows*cols, 0.05))
		var x []byte
		for j := 0; j < nx; j++ {
			x = append(x, QuantizeActivations(typ, randNormal(rng, cols, 1), nil)...)
		}
		out := make([]float32, nx*rows)
		MatMul(typ, w[lo*rb:], hi-lo, cols, x, nx, out[lo:], rows)
		for j := 0; j < nx; j++ {
			for r := 0; r < rows; r++ {
				want := float32(0)
				if r >= lo && r < hi {
					want = VecDot(typ, cols, w[r*rb:(r+1)*rb], x[j*xb:(j+1)*xb])
				}
				if got := out[j*rows+r]; got != want {
					t.Errorf("%v act %d row %d: MatMul %v, want %v", typ, j, r, got, want)
				}
			}
		}
	}
}

// TestMatVecConcurrent splits rows across goroutines, as callers do.
func TestMatVecConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const rows, cols, workers = 64, 512, 4
	for _, typ := range []DType{Q4_1, Q6_K, F16} {
		rb := typ.RowBytes(cols)
		w := quantize(t, typ, randNormal(rng, rows*cols, 0.05))
		x := QuantizeActivations(typ, randNormal(rng, cols, 1), nil)
		want, got := make([]float32, rows), make([]float32, rows)
		MatVec(typ, w, rows, cols, x, want)
		var wg sync.WaitGroup
		for k := 0; k < workers; k++ {
			r0, r1 := k*rows/workers, (k+1)*rows/workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					MatVec(typ, w[r0*rb:], r1-r0, cols, x, got[r0:r1])
				}
			}()
		}
		wg.Wait()
		for r := range want {
			if got[r] != want[r] {
				t.Fatalf("%v row %d: concurrent %v, serial %v", typ, r, got[r], want[r])
			}
		}
	}
}

func TestVecDotType(t *testing.T) {
	want := map[DType]DType{
		F32: F32, F16: F16, BF16: BF16, Q4_0: Q8_0, Q5_0: Q8_0, Q8_0: Q8_0,
		Q4_1: Q8_1, Q5_1: Q8_1, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K,
	}
	for typ, vt := range want {
		if got := VecDotType(typ); got != vt {
			t.Errorf("VecDotType(%v) = %v, want %v", typ, got, vt)
		}
	}
}

func TestQuantizeActivationsBuffer(t *testing.T) {
	x := make([]float32, 512)
	buf := make([]byte, 0, 4096)
	got := QuantizeActivations(Q4_1, x, buf)
	if len(got) != Q8_1.RowBytes(512) || &got[0] != &buf[:1][0] {
		t.Errorf("buffer not reused: len %d", len(got))
	}
	if got := QuantizeActivations(Q6_K, x, buf[:0:10]); len(got) != Q8_K.RowBytes(512) {
		t.Errorf("grown buffer has len %d", len(got))
	}
}

func TestMatVecPanicsOnMisuse(t *testing.T) {
	x := QuantizeActivations(Q4_0, make([]float32, 64), nil)
	w := make([]byte, Q4_0.RowBytes(64)*2)
	tests := []struct {
		name string
		f    func()
		msg  string
	}{
		{"short weights", func() { MatVec(Q4_0, w[:40], 2, 64, x, make([]float32, 2)) }, "need"},
		{"short activations", func() { MatVec(Q4_0, w, 2, 64, x[:10], make([]float32, 2)) }, "activations"},
		{"short out", func() { MatVec(Q4_0, w, 2, 64, x, make([]float32, 1)) }, "out"},
		{"bad cols", func() { MatVec(Q4_0, w, 1, 48, x, make([]float32, 1)) }, "shape"},
		{"overlapping rows", func() { MatMul(Q4_0, w, 2, 64, x, 2, make([]float32, 4), 1) }, "shape"},
		{"short out for nx", func() { MatMul(Q4_0, w, 2, 64, append(x, x...), 2, make([]float32, 3), 2) }, "out"},
		{"no vec dot", func() { VecDot(Q8_K, 256, make([]byte, 292), make([]byte, 292)) }, "no dot"},
	}
	for _, tc := range tests {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.msg) {
					t.Errorf("%s: recovered %v, want a panic mentioning %q", tc.name, r, tc.msg)
				}
			}()
			tc.f()
		}()
	}
}
