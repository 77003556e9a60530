package kvcache_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// Sequence must satisfy the forward pass's KV interface (structurally:
// kvcache does not import model).
var _ model.KV = (*kvcache.Sequence)(nil)

// TestMatchesDenseKV runs the same prefill chunks and decode steps through
// model.DenseKV and a Sequence and compares outputs.
func TestMatchesDenseKV(t *testing.T) {
	cfg := &model.Config{Layers: 2, Heads: 6, KVHeads: 2, HeadDim: 16, AttnScale: 0.25}
	pool, err := kvcache.NewPool(kvcache.Shape{Layers: 2, Heads: 6, KVHeads: 2, HeadDim: 16, Scale: 0.25},
		kvcache.Options{BlockSize: 8, Blocks: 64})
	if err != nil {
		t.Fatal(err)
	}
	pp := parallel.New(2)
	defer pp.Close()
	dense, paged := model.NewDenseKV(cfg, 200), kvcache.NewSequence(pool)
	rng := rand.New(rand.NewPCG(4, 4))
	next := int32(0)
	for _, T := range []int{13, 8, 1, 1, 5, 1} {
		if err := paged.Reserve(T); err != nil {
			t.Fatal(err)
		}
		pos := make([]int32, T)
		for i := range pos {
			pos[i] = next + int32(i)
		}
		next += int32(T)
		for l := range cfg.Layers {
			k, v := randVec(rng, T*2*16), randVec(rng, T*2*16)
			q := randVec(rng, T*6*16)
			want, got := make([]float32, len(q)), make([]float32, len(q))
			for _, kv := range []model.KV{dense, paged} {
				if err := kv.Store(l, pos, k, v); err != nil {
					t.Fatal(err)
				}
			}
			dense.Attend(l, pos, q, want, pp)
			paged.Attend(l, pos, q, got, pp)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("T=%d layer %d element %d: paged %v, dense %v", T, l, i, got[i], want[i])
				}
			}
		}
	}
}

func randVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*rng.Float32() - 1
	}
	return x
}
