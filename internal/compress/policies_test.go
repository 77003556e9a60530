package compress

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// refTables computes the reference scores of every table for a policy.
func refTables(t *testing.T, tr *trace, cfg Config, st *Stats) [][][]float64 {
	mc := tr.mc
	scale := float64(mc.AttnScale)
	out := make([][][]float64, mc.Layers)
	for l := range mc.Layers {
		out[l] = make([][]float64, mc.KVHeads)
		for g := range mc.KVHeads {
			keys, pos := tableKeys(t, tr.seq.Table(l, g), mc.HeadDim)
			qs := refQueries(tr, l, g)
			var s []float64
			switch cfg.Policy {
			case "streaming":
				s = make([]float64, len(pos))
				for j, p := range pos {
					s[j] = float64(p)
				}
			case "h2o":
				s = refH2O(qs, keys, pos, scale)
			case "tova":
				s = refTOVA(qs, keys, pos, scale)
			case "snapkv":
				s = refSnap(qs, cfg.ProtectWindow, keys, pos, scale)
			case "rkv":
				s = refRKV(qs, cfg.ProtectWindow, keys, pos, scale)
			case "triattention":
				s = refTriTable(mc, st, l, g, keys, pos, tr.next)
			}
			out[l][g] = s
		}
	}
	if cfg.Policy == "triattention" && cfg.Mode == ModePerHead {
		refMeanOverLayers(t, tr, out)
	}
	return out
}

// refMeanOverLayers averages per-head scores over layers, token by token.
func refMeanOverLayers(t *testing.T, tr *trace, s [][][]float64) {
	for g := range tr.mc.KVHeads {
		sum := map[int32]float64{}
		for l := range tr.mc.Layers {
			_, pos := tableKeys(t, tr.seq.Table(l, g), tr.mc.HeadDim)
			for j, p := range pos {
				sum[p] += s[l][g][j] / float64(tr.mc.Layers)
			}
		}
		for l := range tr.mc.Layers {
			_, pos := tableKeys(t, tr.seq.Table(l, g), tr.mc.HeadDim)
			for j, p := range pos {
				s[l][g][j] = sum[p]
			}
		}
	}
}

// checkPolicy compares a policy's scores and keep-sets with the reference.
func checkPolicy(t *testing.T, tr *trace, cfg Config, st *Stats, promptLen int) {
	t.Helper()
	if st != nil {
		cfg.Stats = filepath.Join(t.TempDir(), "stats.safetensors")
		if err := st.Write(cfg.Stats); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := NewPolicy(cfg, tr.mc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCompressor(tr.seq, tr.mc, pol, cfg, promptLen)
	if err != nil {
		t.Fatal(err)
	}
	c.sizeScores()
	in := Input{Seq: tr.seq, Model: tr.mc, PromptLen: promptLen, Next: tr.next, Queries: tr.qw}
	if err := pol.Scores(&in, c.scores); err != nil {
		t.Fatal(err)
	}
	ref := refTables(t, tr, rc, st)
	guards := Guards{Sinks: rc.Sinks, Window: rc.ProtectWindow}
	if rc.ProtectPrompt {
		guards.PromptLen = promptLen
	}
	var sel Selector
	for l := range tr.mc.Layers {
		for g := range tr.mc.KVHeads {
			where := fmt.Sprintf("layer %d kv head %d", l, g)
			got, want := c.scores[l][g], ref[l][g]
			tol := 1e-4*maxAbs(want) + 1e-9
			for j := range want {
				if d := math.Abs(float64(got[j]) - want[j]); !(d <= tol) {
					t.Fatalf("%s slot %d: score %g, reference %g (|diff| %g > %g)", where, j, got[j], want[j], d, tol)
				}
			}
			pos := tr.seq.Table(l, g).Positions(nil)
			keep, err := sel.Select(nil, pos, got, rc.Budget, guards)
			if err != nil {
				t.Fatal(err)
			}
			compareKeep(t, where, pos, keep, want, refKeep(pos, want, rc.Budget, rc.Sinks, rc.ProtectWindow, guards.PromptLen), tol)
		}
	}
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// compareKeep checks that the kept positions equal the reference's, except
// for tokens whose reference scores tie the selection boundary within tol.
func compareKeep(t *testing.T, where string, pos []int32, keep []int, score []float64, want map[int32]bool, tol float64) {
	t.Helper()
	if !slices.IsSorted(keep) || len(keep) != len(want) {
		t.Fatalf("%s: kept %d slots (sorted %v), reference %d", where, len(keep), slices.IsSorted(keep), len(want))
	}
	got := map[int32]bool{}
	for _, s := range keep {
		got[pos[s]] = true
	}
	lowKept, highDropped := math.Inf(1), math.Inf(-1)
	for s, p := range pos {
		if want[p] {
			lowKept = math.Min(lowKept, score[s])
		} else {
			highDropped = math.Max(highDropped, score[s])
		}
	}
	for s, p := range pos {
		if got[p] != want[p] && math.Abs(score[s]-highDropped) > tol && math.Abs(score[s]-lowKept) > tol {
			t.Fatalf("%s: position %d kept=%v, reference kept=%v (score %g, boundary %g..%g)", where, p, got[p], want[p], score[s], lowKept, highDropped)
		}
	}
}

var policyCases = []struct {
	name   string
	cfg    Config
	prompt int
}{
	{"streaming", Config{Policy: "streaming"}, 0},
	{"h2o", Config{Policy: "h2o"}, 0},
	{"h2o-protect-prompt", Config{Policy: "h2o", ProtectPrompt: true}, 30},
	{"tova", Config{Policy: "tova", Sinks: 2}, 0},
	{"snapkv", Config{Policy: "snapkv"}, 0},
	{"snapkv-window16", Config{Policy: "snapkv", ProtectWindow: 16}, 0},
	{"rkv", Config{Policy: "rkv"}, 0},
	{"triattention-per-head", Config{Policy: "triattention", ProtectWindow: 16}, 0},
	{"triattention-per-layer-per-head", Config{Policy: "triattention", Mode: ModePerLayerPerHead, ProtectWindow: 16}, 0},
	{"triattention-prompt-too-long", Config{Policy: "triattention", ProtectWindow: 16, ProtectPrompt: true}, 150},
}

func TestPoliciesMatchReferenceRandom(t *testing.T) {
	for _, style := range []model.RopeStyle{model.RopeInterleaved, model.RopeNeoX} {
		mc := testConfig(2, 4, 2, 16, style)
		tr := randomTrace(t, mc, 300, 16, 1)
		st := randomStats(mc, 2)
		for _, pc := range policyCases {
			t.Run(style.String()+"/"+pc.name, func(t *testing.T) {
				cfg := pc.cfg
				cfg.Budget, cfg.CompressEvery = 64, 16
				checkPolicy(t, tr, cfg, st, pc.prompt)
			})
		}
	}
}

func TestPoliciesMatchReferenceModel(t *testing.T) {
	m := loadStories(t)
	tr := modelTrace(t, m, 200, 16)
	pool := parallel.New(1)
	defer pool.Close()
	st, err := Calibrate(m, pool, textTokens(t, m, 4000, false), CalibrateOptions{Tokens: 256, Window: 128, Chunk: 64, BOS: m.Tokenizer.BOS()})
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range policyCases {
		t.Run(pc.name, func(t *testing.T) {
			cfg := pc.cfg
			cfg.Budget, cfg.CompressEvery = 64, 16
			checkPolicy(t, tr, cfg, st, pc.prompt)
		})
	}
}
