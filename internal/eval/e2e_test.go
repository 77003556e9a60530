package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
)

// storiesEnv loads stories260K, a short text and TriAttention statistics
// calibrated on it (written to a temp dir).
func storiesEnv(t *testing.T) (*model.Model, *parallel.Pool, string, string) {
	t.Helper()
	m, err := model.Load(oracle.RequireModel(t, oracle.StoriesModel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	pool := parallel.New(1)
	t.Cleanup(pool.Close)
	root, _ := oracle.ModuleRoot()
	b, err := os.ReadFile(filepath.Join(root, "../shared/data/texts/emma.txt"))
	if err != nil {
		t.Skipf("text fixture: %v", err)
	}
	text := string(b[20000:40000])
	st, err := compress.Calibrate(m, pool, m.Tokenizer.Encode(text, false, false),
		compress.CalibrateOptions{Tokens: 256, Window: 128, Chunk: 64, BOS: m.Tokenizer.BOS()})
	if err != nil {
		t.Fatal(err)
	}
	stats := filepath.Join(t.TempDir(), "stories.triattention.safetensors")
	if err := st.Write(stats); err != nil {
		t.Fatal(err)
	}
	return m, pool, text, stats
}

func storiesMaker(m *model.Model, pool *parallel.Pool, stats string, specs []Spec, extra int) func(int) (*Set, error) {
	return func(p int) (*Set, error) {
		su := &Setup{Model: m, Pool: pool, Specs: specs, Tokens: p + extra, Chunk: 16,
			Base: compress.Config{CompressEvery: 8, Stats: stats, ProtectWindow: 4}}
		return NewSet(su, p)
	}
}

func TestEvalCommandsOnStories(t *testing.T) {
	m, pool, text, stats := storiesEnv(t)
	specs, err := Specs("none,streaming,h2o,tova,snapkv,rkv,triattention", "16,1000")
	if err != nil {
		t.Fatal(err)
	}
	ids := m.Tokenizer.Encode(text, true, false)
	t.Run("fidelity", func(t *testing.T) { checkFidelity(t, m, pool, stats, specs, ids) })
	t.Run("recall", func(t *testing.T) {
		rows, err := Recall(storiesMaker(m, pool, stats, specs[:3], 16), m.Tokenizer, TextFiller(ids[1:]), RecallOptions{Context: 160, Depths: []float64{0.1, 0.9}, Chunk: 16, Answer: 4})
		if err != nil || len(rows) != 2*3 {
			t.Fatalf("recall: %d rows, %v", len(rows), err)
		}
		_ = RecallTable(rows)
	})
	t.Run("divergence", func(t *testing.T) {
		ps := ParagraphPrompts(m.Tokenizer, text, 2, 32)
		rows, err := Divergence(storiesMaker(m, pool, stats, specs, 17), ps, 16, 16)
		if err != nil || len(rows) != len(specs) || len(ps) != 2 {
			t.Fatalf("divergence: %d rows, %d prompts, %v", len(rows), len(ps), err)
		}
		checkUncompressedIdentical(t, rows)
	})
	t.Run("gsm8k", func(t *testing.T) { checkGSM8K(t, m, pool, stats, specs[:2]) })
	t.Run("plots", func(t *testing.T) { checkPlots(t, m, pool, stats, ids) })
}

func checkFidelity(t *testing.T, m *model.Model, pool *parallel.Pool, stats string, specs []Spec, ids []int32) {
	set, err := storiesMaker(m, pool, stats, specs, 0)(48 + 24)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Release()
	res, err := Fidelity(set, ids, FidelityOptions{Prefill: 48, Tokens: 24, Chunk: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		// budget 1000 never fires: the lane must equal the full cache exactly
		if r.Budget == 1000 && (r.MeanKL > 1e-6 || r.Top1 != 1 || r.Rounds != 0) {
			t.Errorf("%s: KL %g top-1 %g rounds %d, want identical to full", r.Name, r.MeanKL, r.Top1, r.Rounds)
		}
		if r.Budget == 16 && (r.Rounds == 0 || r.FinalBytes >= res.Rows[0].FinalBytes || r.UncompactedBytes < r.FinalBytes) {
			t.Errorf("%s: %d rounds, %d bytes (%d uncompacted) vs full %d", r.Name, r.Rounds, r.FinalBytes, r.UncompactedBytes, res.Rows[0].FinalBytes)
		}
	}
	_ = FidelityTable(res)
}

func checkUncompressedIdentical(t *testing.T, rows []DivergenceRow) {
	for _, r := range rows {
		if r.Name == "full" || strings.HasSuffix(r.Name, "@1000") {
			if r.Identical != len(r.Per) {
				t.Errorf("%s diverged from full without compressing: %v", r.Name, r.Per)
			}
		}
	}
}

func checkGSM8K(t *testing.T, m *model.Model, pool *parallel.Pool, stats string, specs []Spec) {
	path := filepath.Join(t.TempDir(), "gsm.jsonl")
	line := `{"question": "Tom has 2 apples and gets 3 more. How many apples?", "answer": "2+3=5\n#### 5"}` + "\n"
	if err := os.WriteFile(path, []byte(line+line), 0o644); err != nil {
		t.Fatal(err)
	}
	probs, err := LoadGSM8K(path, 1)
	if err != nil || len(probs) != 1 {
		t.Fatalf("load: %d problems, %v", len(probs), err)
	}
	prompt := func(q string) ([]int32, error) { return m.Tokenizer.Encode("Q: "+q+" A:", true, false), nil }
	rows, err := GSM8K(storiesMaker(m, pool, stats, specs, 17), m.Tokenizer, probs, prompt, 16, 16)
	if err != nil || len(rows) != len(specs) || rows[0].Problems != 1 {
		t.Fatalf("gsm8k: %+v, %v", rows, err)
	}
	_ = GSMTable(rows)
}

func checkPlots(t *testing.T, m *model.Model, pool *parallel.Pool, stats string, ids []int32) {
	dir := t.TempDir()
	var panels []Panel
	for _, mode := range []string{compress.CompactRepack, compress.CompactHoleFill} {
		su := &Setup{Model: m, Pool: pool, Specs: []Spec{{Policy: "h2o", Budget: 16}}, Tokens: 200, Chunk: 16,
			Base: compress.Config{CompressEvery: 8, Compaction: mode}}
		set, err := NewSet(su, 16)
		if err != nil {
			t.Fatal(err)
		}
		before, after, err := CaptureRound(set, ids[:200], 16, 3)
		set.Release()
		if err != nil {
			t.Fatal(err)
		}
		if len(EvictedBy(before, after)) == 0 || len(after.Pos) >= len(before.Pos) {
			t.Errorf("%s: round evicted nothing or freed no block: %d -> %d slots", mode, len(before.Pos), len(after.Pos))
		}
		panels = append(panels, Panel{Snap: before, Evicted: EvictedBy(before, after)}, Panel{Snap: after})
	}
	if err := BlockMapPNG(filepath.Join(dir, "map.png"), panels); err != nil {
		t.Fatal(err)
	}
	s := Series{Name: "h2o@16", Steps: []int{0, 1}, Bytes: []int64{1 << 20, 1 << 19}, Uncompacted: []int64{1 << 20, 1 << 20}}
	if err := PlotMemory([]Series{{Name: "full", Steps: []int{0, 1}, Bytes: []int64{1, 2}}, s}, "t", filepath.Join(dir, "mem.png")); err != nil {
		t.Fatal(err)
	}
}
