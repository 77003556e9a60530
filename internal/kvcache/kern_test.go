package kvcache

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kvpack/kvpack/internal/parallel"

	"github.com/kvpack/kvpack/internal/tensor"
)

// TestAsmKernels checks the assembly block kernels against float64
// references: scores within 1e-5 relative to Σ|q_e k_e| (float32 summation
// order differs from the Go dot), accumulation within 1e-5 of Σ|p_j v_j|.
func TestAsmKernels(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2/FMA/F16C")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, hd := range []int{8, 16, 24, 32, 40, 64, 72, 96, 128, 136} {
		for _, n := range []int{1, 2, 7, 16, 33} {
			q := randVec(rng, hd, 1)
			kf, vf := randVec(rng, n*hd, 1), randVec(rng, n*hd, 1)
			kh, vh := make([]uint16, n*hd), make([]uint16, n*hd)
			for i := range kf {
				kh[i], vh[i] = tensor.F32ToF16(kf[i]), tensor.F32ToF16(vf[i])
				kf[i], vf[i] = tensor.F16ToF32(kh[i]), tensor.F16ToF32(vh[i])
			}
			p := randVec(rng, n, 1)
			const scale = 0.125
			s32, s16 := make([]float32, n), make([]float32, n)
			scoresF32(&q[0], &kf[0], n, hd, scale, &s32[0])
			scoresF16(&q[0], &kh[0], n, hd, scale, &s16[0])
			x32, x16 := make([]float32, n+1), make([]float32, n+1)
			x32[n&^7], x16[n&^7] = 42, 42 // sentinel: the eight-key kernels write k outputs only
			if k := n &^ 7; k > 0 {
				scoresF32x8(&q[0], &kf[0], k, hd, scale, &x32[0])
				scoresF16x8(&q[0], &kh[0], k, hd, scale, &x16[0])
			}
			if x32[n&^7] != 42 || x16[n&^7] != 42 {
				t.Fatalf("hd=%d n=%d: eight-key kernels wrote past their %d outputs", hd, n, n&^7)
			}
			for j := range n {
				var want, mag float64
				for e := range hd {
					x := float64(q[e]) * float64(kf[j*hd+e])
					want, mag = want+x, mag+math.Abs(x)
				}
				want *= scale
				mag *= scale
				if math.Abs(float64(s32[j])-want) > 1e-5*mag || s16[j] != s32[j] {
					t.Fatalf("hd=%d n=%d j=%d: scores f32 %v f16 %v, want %v", hd, n, j, s32[j], s16[j], want)
				}
				if j < n&^7 && (math.Abs(float64(x32[j])-want) > 1e-5*mag || x16[j] != x32[j]) {
					t.Fatalf("hd=%d n=%d j=%d: eight-key scores f32 %v f16 %v, want %v", hd, n, j, x32[j], x16[j], want)
				}
			}
			init := randVec(rng, hd, 1)
			a32, a16 := append([]float32(nil), init...), append([]float32(nil), init...)
			accumF32(&a32[0], &p[0], &vf[0], n, hd)
			accumF16(&a16[0], &p[0], &vh[0], n, hd)
			for e := range hd {
				want, mag := float64(init[e]), math.Abs(float64(init[e]))
				for j := range n {
					x := float64(p[j]) * float64(vf[j*hd+e])
					want, mag = want+x, mag+math.Abs(x)
				}
				if math.Abs(float64(a32[e])-want) > 1e-5*mag || a16[e] != a32[e] {
					t.Fatalf("hd=%d n=%d e=%d: accum f32 %v f16 %v, want %v", hd, n, e, a32[e], a16[e], want)
				}
			}
		}
	}
}

// TestAttendKernelPaths runs the reference-checked attention case (outputs
// and taps) on both kernel paths, with and without the flash-decoding split
// (forced down to one block per range), for head dims the assembly takes
// (16, 64) and one it does not (12).
func TestAttendKernelPaths(t *testing.T) {
	defer func(u bool, m int) { useAsm, minSplitBlocks = u, m }(useAsm, minSplitBlocks)
	for _, asm := range []bool{false, true} {
		if asm && !asmAvailable {
			continue
		}
		for _, minSplit := range []int{4, 1} {
			for _, nw := range []int{2, 3} {
				for _, hd := range []int{12, 16, 64} {
					for _, dt := range []DType{F32, F16} {
						useAsm, minSplitBlocks = asm, minSplit
						name := fmt.Sprintf("asm=%v/minsplit%d/w%d/hd%d/%v", asm, minSplit, nw, hd, dt)
						t.Run(name, func(t *testing.T) {
							pp := parallel.New(nw)
							defer pp.Close()
							attendCaseHD(t, rand.New(rand.NewPCG(uint64(hd*10+nw), uint64(minSplit))), hd, 1+hd%3, 8, 1, dt, pp)
						})
					}
				}
			}
		}
	}
}

// TestAttendSplitEngaged checks that a decode query over a long table is
// split across workers and matches the serial (unsplit) result.
func TestAttendSplitEngaged(t *testing.T) {
	sh := Shape{Layers: 1, Heads: 9, KVHeads: 3, HeadDim: 64}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, dt := range []DType{F32, F16} {
		p := mustPool(t, sh, 16, dt, 3*64)
		s := NewSequence(p)
		s.EnableTaps(true)
		m := newMirror(p.Shape(), dt)
		step(t, s, m, rng, 400, nil)
		pp := parallel.New(2)
		q := randVec(rng, sh.Heads*sh.HeadDim, 1)
		pos := []int32{int32(s.Len())}
		want, got := make([]float32, len(q)), make([]float32, len(q))
		s.ResetTaps()
		s.Attend(0, pos, q, want, nil)
		mass0 := append([]float32(nil), s.Table(0, 1).Mass()...)
		s.ResetTaps()
		s.Attend(0, pos, q, got, pp)
		if s.att.split < 2 {
			t.Fatalf("%v: split %d, want >= 2", dt, s.att.split)
		}
		want64 := make([]float64, len(want))
		for i, x := range want {
			want64[i] = float64(x)
		}
		checkOut(t, "split vs serial", got, want64, sh.HeadDim, tolF32)
		for j, x := range s.Table(0, 1).Mass() {
			if math.Abs(float64(x-mass0[j])) > 1e-6 {
				t.Fatalf("%v: mass[%d] %v, serial %v", dt, j, x, mass0[j])
			}
		}
		pp.Close()
	}
}

// TestExpShiftAVX2 bounds the vector exp against math.Exp (2 ulp, as exp32)
// over the range attention feeds it (x - m <= 0), and checks -Inf -> 0.
func TestExpShiftAVX2(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2/FMA/F16C")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = -90 * rng.Float32()
	}
	x[0], x[1], x[2], x[3] = 0, float32(math.Inf(-1)), -87.3, -1e-8
	in := append([]float32(nil), x...)
	const m = 1.5
	for i := range in {
		in[i] += m
	}
	y := append([]float32(nil), in...)
	expShiftAVX2(&y[0], len(y), m)
	worst := 0.0
	for i := range y {
		want := math.Exp(float64(in[i] - m))
		if want < 1.2e-38 {
			if y[i] > 1.2e-38 {
				t.Fatalf("exp(%v) = %v, want ~0", in[i]-m, y[i])
			}
			continue
		}
		worst = max(worst, math.Abs(float64(y[i])-want)/want)
	}
	if worst > 2.4e-7 {
		t.Fatalf("worst relative error %.3g", worst)
	}
	if y[1] != 0 {
		t.Fatalf("exp(-Inf) = %v", y[1])
	}
	nan := []float32{float32(math.NaN()), 0, 0, 0, 0, 0, 0, 0}
	expShiftAVX2(&nan[0], 8, 0)
	if nan[0] == nan[0] || nan[1] != 1 {
		t.Fatalf("NaN lane %v, zero lane %v", nan[0], nan[1])
	}
}
