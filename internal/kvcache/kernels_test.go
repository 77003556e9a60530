package kvcache

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kvpack/kvpack/internal/tensor"
)

func TestExp32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	worst := 0.0
	check := func(x float32) {
		want := math.Exp(float64(x))
		got := float64(exp32(x))
		if want < 1.2e-38 { // below the normal range exp32 flushes to 0
			if got > 1.2e-38 {
				t.Fatalf("exp32(%v) = %v, want ~0", x, got)
			}
			return
		}
		if e := math.Abs(got-want) / want; e > worst {
			worst = e
		}
	}
	for range 200000 {
		check(-90 * rng.Float32())
		check(10 * (2*rng.Float32() - 1))
	}
	for _, x := range []float32{0, -0.34657359, 0.34657359, -87.3, 88.7, -1e-8} {
		check(x)
	}
	if worst > 2.4e-7 { // 2 ulp
		t.Fatalf("exp32 worst relative error %.3g", worst)
	}
	for _, tc := range []struct{ x, want float32 }{
		{float32(math.Inf(-1)), 0}, {-200, 0}, {float32(math.Inf(1)), float32(math.Inf(1))}, {100, float32(math.Inf(1))},
	} {
		if got := exp32(tc.x); got != tc.want {
			t.Errorf("exp32(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if nan := exp32(float32(math.NaN())); nan == nan {
		t.Error("exp32(NaN) not NaN")
	}
	if exp32(0) != 1 {
		t.Errorf("exp32(0) = %v", exp32(0))
	}
}

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 63, 64, 65, 128} {
		a, b := randVec(rng, n, 1), randVec(rng, n+3, 1)
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); math.Abs(float64(got)-want) > 1e-5 {
			t.Errorf("dot n=%d: %v, want %v", n, got, want)
		}
		acc := make([]float32, n)
		copy(acc, b)
		axpy(acc, 0.5, a)
		for i := range acc {
			if w := b[i] + 0.5*a[i]; acc[i] != w {
				t.Fatalf("axpy n=%d i=%d: %v, want %v", n, i, acc[i], w)
			}
		}
	}
}

func TestF16ToF32AllValues(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	dst := make([]float32, len(src))
	f16ToF32(dst, src)
	for i, h := range src {
		want := tensor.F16ToF32(h)
		if math.Float32bits(dst[i]) != math.Float32bits(want) {
			t.Fatalf("f16 %#04x: %v, want %v", h, dst[i], want)
		}
	}
}
