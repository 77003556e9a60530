package compress

import (
	"path/filepath"
	"testing"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// TestCompressorWithModel runs stories260K through a paged sequence the way
// an engine would: taps turned on by NewCompressor, queries fed from the
// runner's Tap, AfterStep after every step; the cache must stay within
// [B, B+N) tokens per table once compression starts, and stay consistent.
func TestCompressorWithModel(t *testing.T) {
	m := loadStories(t)
	mc := &m.Config
	pool := parallel.New(1)
	defer pool.Close()
	ids := textTokens(t, m, 6000, true)[:400]
	stats := filepath.Join(t.TempDir(), "stats.safetensors")
	st, err := Calibrate(m, pool, ids[1:], CalibrateOptions{Tokens: 256, Window: 128, BOS: m.Tokenizer.BOS()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(stats); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"streaming", "h2o", "tova", "snapkv", "rkv", "triattention"} {
		t.Run(name, func(t *testing.T) {
			cfg := Config{Policy: name, Budget: 48, CompressEvery: 16, ProtectWindow: 8, Stats: stats, Compaction: CompactHoleFill}
			pol, err := NewPolicy(cfg, mc)
			if err != nil {
				t.Fatal(err)
			}
			kp, seq := newSeq(t, mc, 8, mc.Layers*mc.KVHeads*16)
			c, err := NewCompressor(seq, mc, pol, cfg, 100)
			if err != nil {
				t.Fatal(err)
			}
			c.SetPool(pool)
			r := model.NewRunner(m, pool)
			if qw := c.Queries(); qw != nil {
				r.Tap = qw.Tap
			}
			runSteps(t, r, seq, c, ids, 100)
			if err := kvcache.Audit(kp, seq); err != nil {
				t.Fatal(err)
			}
			if tot := c.Totals(); tot.Rounds < 10 || tot.BlocksFreed == 0 {
				t.Fatalf("totals %+v", tot)
			}
		})
	}
}

// runSteps prefills prompt tokens in one chunk, then decodes the rest one by one.
func runSteps(t *testing.T, r *model.Runner, seq *kvcache.Sequence, c *Compressor, ids []int32, prompt int) {
	cfg := c.Config()
	for s := 0; s < len(ids); {
		T := 1
		if s == 0 {
			T = prompt
		}
		b := model.Batch{Tokens: ids[s : s+T], Spans: []model.Span{{KV: seq, End: T}}, Logits: []int{T - 1}}
		for p := s; p < s+T; p++ {
			b.Pos = append(b.Pos, int32(p))
		}
		if err := seq.Reserve(T); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Forward(&b); err != nil {
			t.Fatal(err)
		}
		s += T
		round, err := c.AfterStep()
		if err != nil {
			t.Fatal(err)
		}
		n := seq.Table(0, 0).Len()
		if (round.Fired() && n != cfg.Budget) || n >= cfg.Budget+cfg.CompressEvery {
			t.Fatalf("after position %d: table holds %d tokens (round %+v)", s, n, round)
		}
	}
}
