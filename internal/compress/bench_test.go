package compress

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// BenchmarkRound measures one steady-state round on the default model's
// shape (SmolLM2-135M: 30 layers, 9/3 heads, head dim 64; f16 cache, block
// size 16): B=512, 128 new tokens per round, so every round cuts 90 tables
// from 640 to 512 tokens. Reported per round: score-ms, select-ms, compact-ms.
// Scoring runs on a 2-worker pool.
func BenchmarkRound(b *testing.B) {
	mc := testConfig(30, 9, 3, 64, model.RopeInterleaved)
	mc.RopeTheta = 100000
	tri, err := NewTriAttention(randomStats(mc, 1), mc, ModePerHead)
	if err != nil {
		b.Fatal(err)
	}
	pols := []Policy{streamingPolicy{}, h2oPolicy{}, tovaPolicy{}, snapPolicy{window: 8}, rkvPolicy{window: 8}, tri}
	for _, pol := range pols {
		for _, mode := range []string{CompactRepack, CompactHoleFill} {
			b.Run(pol.Name()+"/"+mode, func(b *testing.B) { benchRound(b, mc, pol, mode) })
		}
	}
}

func benchRound(b *testing.B, mc *model.Config, pol Policy, mode string) {
	const B, N = 512, 128
	kp, err := kvcache.NewPool(shapeOf(mc), kvcache.Options{BlockSize: 16, DType: kvcache.F16, Blocks: 90 * 42})
	if err != nil {
		b.Fatal(err)
	}
	seq := kvcache.NewSequence(kp)
	cfg := Config{Policy: "h2o", Budget: B, CompressEvery: N, ProtectWindow: 8, Compaction: mode}
	c, err := NewCompressor(seq, mc, pol, cfg, 0)
	if err != nil {
		b.Fatal(err)
	}
	workers := parallel.New(2)
	defer workers.Close()
	c.SetPool(workers)
	rng := rand.New(rand.NewPCG(1, 2))
	next := int32(0)
	fill := func(n int) {
		for range n / 16 {
			benchAppend(b, mc, seq, c.Queries(), rng, next, 16)
			next += 16
		}
	}
	fill(B)
	var score, sel, compact time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fill(N)
		b.StartTimer()
		r, err := c.AfterStep()
		if err != nil || !r.Fired() {
			b.Fatalf("round: %+v, %v", r, err)
		}
		score, sel, compact = score+r.ScoreTime, sel+r.SelectTime, compact+r.CompactTime
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(score), "score-ms")
	b.ReportMetric(ms(sel), "select-ms")
	b.ReportMetric(ms(compact), "compact-ms")
}

// benchAppend stores T random tokens in every layer and records random queries.
func benchAppend(b *testing.B, mc *model.Config, seq *kvcache.Sequence, qw *QueryWindow, rng *rand.Rand, at int32, T int) {
	if err := seq.Reserve(T); err != nil {
		b.Fatal(err)
	}
	pos := make([]int32, T)
	for i := range pos {
		pos[i] = at + int32(i)
	}
	kvd := mc.KVHeads * mc.HeadDim
	for l := range mc.Layers {
		if err := seq.Store(l, pos, randVec(rng, T*kvd), randVec(rng, T*kvd)); err != nil {
			b.Fatal(err)
		}
		if qw != nil {
			if err := qw.Record(l, pos, randVec(rng, T*mc.Heads*mc.HeadDim)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
