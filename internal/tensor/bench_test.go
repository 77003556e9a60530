package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMatVec measures one matrix-vector product per op at SmolLM2-135M
// shapes (rows x cols: 576x576 attention, 1536x576 FFN up/gate). The K-quants
// need cols % 256 == 0, so they run 576x512 and 1536x512 instead. GB/s counts
// weight bytes read.
func BenchmarkMatVec(b *testing.B) {
	types := []DType{Q4_1, Q4_0, Q8_0, Q5_0, Q5_1, Q6_K, Q4_K, Q5_K, F16, BF16, F32}
	for _, typ := range types {
		for _, rows := range []int{576, 1536} {
			cols := 576
			if typ.BlockSize() == qkK {
				cols = 512
			}
			b.Run(fmt.Sprintf("%v/%dx%d", typ, rows, cols), func(b *testing.B) {
				benchMatVec(b, typ, rows, cols)
			})
		}
	}
}

func benchMatVec(b *testing.B, typ DType, rows, cols int) {
	rng := rand.New(rand.NewPCG(1, uint64(typ)))
	wf := make([]float32, rows*cols)
	for i := range wf {
		wf[i] = float32(rng.NormFloat64()) * 0.05
	}
	w := make([]byte, typ.RowBytes(cols)*rows)
	if err := QuantizeRow(typ, wf, w); err != nil {
		b.Fatal(err)
	}
	xf := make([]float32, cols)
	for i := range xf {
		xf[i] = float32(rng.NormFloat64())
	}
	x := QuantizeActivations(typ, xf, nil)
	out := make([]float32, rows)
	b.SetBytes(int64(len(w)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		MatVec(typ, w, rows, cols, x, out)
	}
	b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkVecDotRows is the 576x576 Q4_1 product done row by row with
// VecDot, for comparison with BenchmarkMatVec/Q4_1/576x576.
func BenchmarkVecDotRows(b *testing.B) {
	const rows, cols = 576, 576
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]byte, Q4_1.RowBytes(cols)*rows)
	_ = QuantizeRow(Q4_1, randNormal(rng, rows*cols, 0.05), w)
	x := QuantizeActivations(Q4_1, randNormal(rng, cols, 1), nil)
	out := make([]float32, rows)
	rb := Q4_1.RowBytes(cols)
	b.SetBytes(int64(len(w)))
	for b.Loop() {
		for r := range out {
			out[r] = VecDot(Q4_1, cols, w[r*rb:(r+1)*rb], x)
		}
	}
}

func BenchmarkQuantizeActivations(b *testing.B) {
	for _, typ := range []DType{Q4_1, Q4_0, Q6_K, F16} {
		x := make([]float32, 1536)
		for i := range x {
			x[i] = float32(i%17) - 8
		}
		buf := QuantizeActivations(typ, x, nil)
		b.Run(typ.String(), func(b *testing.B) {
			for b.Loop() {
				buf = QuantizeActivations(typ, x, buf)
			}
		})
	}
}

// BenchmarkMatVecLarge streams matrices of 36-69 MB (65536 x 1024), past
// the L2 cache, as decode streams the model's weights (the four-row
// kernels' prefetch); run with KVPACK_NOASM=1 for the pure-Go path.
func BenchmarkMatVecLarge(b *testing.B) {
	for _, typ := range asmTypes {
		b.Run(typ.String(), func(b *testing.B) { benchMatVec(b, typ, 65536, 1024) })
	}
}

// BenchmarkMatMul is a 16-token prefill step on a 1536x512 matrix (the
// four-token kernels).
func BenchmarkMatMul(b *testing.B) {
	const rows, cols, nx = 1536, 512, 16
	for _, typ := range asmTypes {
		b.Run(typ.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, uint64(typ)))
			w := make([]byte, typ.RowBytes(cols)*rows)
			_ = QuantizeRow(typ, randNormal(rng, rows*cols, 0.05), w)
			x := QuantizeActivations(typ, randNormal(rng, nx*cols, 1), nil)
			out := make([]float32, nx*rows)
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				MatMul(typ, w, rows, cols, x, nx, out, rows)
			}
		})
	}
}
