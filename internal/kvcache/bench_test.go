package kvcache

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kvpack/kvpack/internal/parallel"
)

// benchShape is one layer of SmolLM2-135M.
var benchShape = Shape{Layers: 1, Heads: 9, KVHeads: 3, HeadDim: 64}

// denseRef is a contiguous [n][KVHeads*HeadDim] store attended by a plain
// two-pass loop (materialized score row) with the same dot/axpy/exp32
// kernels, the baseline for paging overhead.
type denseRef struct {
	k, v   []float32
	pos    []int32
	scores []float32
}

func (d *denseRef) attend(sh Shape, q []float32, qpos int32, out []float32) {
	hd, stride := sh.HeadDim, sh.KVHeads*sh.HeadDim
	for h := range sh.Heads {
		g := h / sh.GroupSize()
		qh, o := q[h*hd:(h+1)*hd], out[h*hd:(h+1)*hd]
		mx := negInf
		for j, p := range d.pos {
			s := negInf
			if p <= qpos {
				s = dot(qh, d.k[j*stride+g*hd:]) * sh.Scale
			}
			d.scores[j] = s
			mx = max(mx, s)
		}
		var sum float64
		clear(o)
		for j := range d.pos {
			if d.scores[j] == negInf {
				continue
			}
			e := exp32(d.scores[j] - mx)
			sum += float64(e)
			axpy(o, e, d.v[j*stride+g*hd:])
		}
		scaleVec(o, float32(1/sum))
	}
}

// fillBench stores n random tokens in a fresh sequence and a dense copy.
func fillBench(b *testing.B, n int, dt DType) (*Sequence, *denseRef) {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	p := mustPool(b, benchShape, 16, dt, ceilDiv(n+1, 16)*benchShape.KVHeads)
	s := NewSequence(p)
	w := benchShape.KVHeads * benchShape.HeadDim
	d := &denseRef{scores: make([]float32, n)}
	for done := 0; done < n; {
		T := min(256, n-done)
		pos := make([]int32, T)
		for i := range pos {
			pos[i] = int32(done + i)
		}
		k, v := randVec(rng, T*w, 1), randVec(rng, T*w, 1)
		if err := s.Reserve(T); err != nil {
			b.Fatal(err)
		}
		if err := s.Store(0, pos, k, v); err != nil {
			b.Fatal(err)
		}
		d.k, d.v, d.pos = append(d.k, k...), append(d.v, v...), append(d.pos, pos...)
		done += T
	}
	return s, d
}

// reportCPU adds the process CPU time per op since start as "cpu-ns/op".
func reportCPU(b *testing.B, start int64) {
	if start > 0 {
		b.ReportMetric(float64(cpuNanos()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkAttendDecode measures one decode query (one token, one layer) over
// a context of n tokens: ns/op = ns/token/layer. Single-threaded unless the
// name says par (a 2-worker pool, 3 kv-head units).
func BenchmarkAttendDecode(b *testing.B) {
	sh := benchShape
	sh.Scale = float32(1 / math.Sqrt(float64(sh.HeadDim)))
	for _, n := range []int{512, 2048, 8192} {
		q := randVec(rand.New(rand.NewPCG(2, 2)), sh.Heads*sh.HeadDim, 1)
		out := make([]float32, len(q))
		pos := []int32{int32(n - 1)}
		b.Run(fmt.Sprintf("ctx%d/dense-f32", n), func(b *testing.B) {
			_, d := fillBench(b, n, F32)
			c := cpuNanos()
			for b.Loop() {
				d.attend(sh, q, pos[0], out)
			}
			reportCPU(b, c)
		})
		for _, dt := range []DType{F32, F16} {
			for _, taps := range []bool{false, true} {
				b.Run(fmt.Sprintf("ctx%d/paged-%v/taps=%v", n, dt, taps), func(b *testing.B) {
					s, _ := fillBench(b, n, dt)
					s.EnableTaps(taps)
					s.EnableLastAttention(taps)
					c := cpuNanos()
					for b.Loop() {
						s.Attend(0, pos, q, out, nil)
					}
					reportCPU(b, c)
				})
			}
		}
		b.Run(fmt.Sprintf("ctx%d/paged-f32/par", n), func(b *testing.B) {
			pp := parallel.New(2)
			defer pp.Close()
			s, _ := fillBench(b, n, F32)
			c := cpuNanos()
			for b.Loop() {
				s.Attend(0, pos, q, out, pp)
			}
			reportCPU(b, c)
		})
	}
}
