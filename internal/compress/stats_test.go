package compress

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

func TestStatsRoundTrip(t *testing.T) {
	mc := testConfig(3, 4, 2, 16, model.RopeNeoX)
	st := randomStats(mc, 1)
	st.Meta.Model, st.Meta.Source, st.Meta.Tokens, st.Meta.Text = "tiny", "/m/tiny.gguf", 1234, "novel.txt"
	path := filepath.Join(t.TempDir(), "s.safetensors")
	if err := st.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadStats(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta != st.Meta || !slices.Equal(got.QMeanRe, st.QMeanRe) || !slices.Equal(got.QMeanIm, st.QMeanIm) || !slices.Equal(got.QAbsMean, st.QAbsMean) {
		t.Fatalf("round trip changed the statistics: %+v vs %+v", got.Meta, st.Meta)
	}
	if err := got.Check(mc); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if n%8 != 0 || json.Unmarshal(b[8:8+n], &hdr) != nil || len(b) != 8+int(n)+3*4*len(st.QMeanRe) {
		t.Fatalf("header of %d bytes, file of %d", n, len(b))
	}
}

func TestStatsMismatch(t *testing.T) {
	base := func() *model.Config { return testConfig(3, 4, 2, 16, model.RopeNeoX) }
	st := randomStats(base(), 1)
	cases := []struct {
		name   string
		change func(*model.Config)
		word   string
	}{
		{"arch", func(c *model.Config) { c.Arch = "qwen3" }, "architecture"},
		{"layers", func(c *model.Config) { c.Layers = 4 }, "layers"},
		{"heads", func(c *model.Config) { c.Heads = 8 }, "heads"},
		{"kv heads", func(c *model.Config) { c.KVHeads = 1 }, "kv heads"},
		{"head dim", func(c *model.Config) { c.HeadDim, c.RopeDim = 32, 32 }, "head_dim"},
		{"rope style", func(c *model.Config) { c.Rope = model.RopeInterleaved }, "rope style"},
		{"rope theta", func(c *model.Config) { c.RopeTheta = 500000 }, "rope theta"},
	}
	for _, tc := range cases {
		mc := base()
		tc.change(mc)
		err := st.Check(mc)
		if err == nil || !strings.Contains(err.Error(), tc.word) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.word)
		}
	}
}

func TestLoadStatsRejects(t *testing.T) {
	mc := testConfig(2, 2, 1, 8, model.RopeNeoX)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := randomStats(mc, 1).Write(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	edit := func(old, new string) []byte { return []byte(strings.Replace(string(raw), old, new, 1)) }
	cases := []struct {
		name string
		data []byte
		word string
	}{
		{"format", edit(`"kvpack-triattention-stats"`, `"kvpack-triattention-statz"`), "format"},
		{"version", edit(`"version":"1"`, `"version":"9"`), "version"},
		{"missing tensor", edit(`"q_abs_mean"`, `"q_abs_xxxx"`), "q_abs_mean"},
		{"shape", edit(`"layers":"2"`, `"layers":"1"`), "want F32"},
		{"truncated", raw[:20], "safetensors"},
	}
	for _, tc := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadStats(p); err == nil || !strings.Contains(err.Error(), tc.word) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.word)
		}
	}
	if err := NewStats(MetaFor(mc)).Write(filepath.Join(dir, "no", "such", "dir")); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// TestCalibrateStories calibrates stories260K on a little text and checks
// the statistics against means computed directly from the model's Tap.
func TestCalibrateStories(t *testing.T) {
	m := loadStories(t)
	mc := &m.Config
	ids := textTokens(t, m, 3000, false)
	pool := parallel.New(2)
	defer pool.Close()
	var calls int
	opt := CalibrateOptions{Tokens: 300, Window: 128, Chunk: 50, BOS: m.Tokenizer.BOS(), Text: "pp", Progress: func(done, total int) { calls++ }}
	st, err := Calibrate(m, pool, ids, opt)
	if err != nil {
		t.Fatal(err)
	}
	if st.Meta.Tokens != 300 || st.Meta.Text != "pp" || st.Meta.Model != "stories260K.gguf" || calls != 7 {
		t.Fatalf("meta %+v, %d progress calls", st.Meta, calls)
	}
	if err := st.Check(mc); err != nil {
		t.Fatal(err)
	}
	want := directMeans(t, m, pool, calibWindows(ids, opt))
	for i := range st.QAbsMean {
		re, im, abs := st.QMeanRe[i], st.QMeanIm[i], st.QAbsMean[i]
		if math.IsNaN(float64(abs)) || math.Hypot(float64(re), float64(im)) > float64(abs)*(1+1e-6) {
			t.Fatalf("band %d: |mean| %g > mean magnitude %g", i, math.Hypot(float64(re), float64(im)), abs)
		}
		for k, got := range []float32{re, im, abs} {
			if math.Abs(float64(got)-want[k][i]) > 1e-5*(1+math.Abs(want[k][i])) {
				t.Fatalf("statistic %d of band %d: %g, direct %g", k, i, got, want[k][i])
			}
		}
	}
	if _, err := Calibrate(m, pool, nil, opt); err == nil {
		t.Fatal("calibration without text succeeded")
	}
	if _, err := Calibrate(m, pool, ids, CalibrateOptions{Window: 1 << 20}); err == nil {
		t.Fatal("window beyond the context accepted")
	}
}

// directMeans runs each window through a fresh runner and averages the
// tapped pre-RoPE queries: [re, im, abs][layer*heads*bands].
func directMeans(t *testing.T, m *model.Model, pool *parallel.Pool, windows [][]int32) [3][]float64 {
	mc := &m.Config
	F := mc.RopeDim / 2
	var out [3][]float64
	for k := range out {
		out[k] = make([]float64, mc.Layers*mc.Heads*F)
	}
	n := 0
	r := model.NewRunner(m, pool)
	r.Tap = func(l int, pos []int32, q, _ []float32) {
		for i := range pos {
			for h := range mc.Heads {
				for f := range F {
					a, b := refPair(mc, f)
					x, y := float64(q[(i*mc.Heads+h)*mc.HeadDim+a]), float64(q[(i*mc.Heads+h)*mc.HeadDim+b])
					o := (l*mc.Heads+h)*F + f
					out[0][o] += x
					out[1][o] += y
					out[2][o] += math.Hypot(x, y)
				}
			}
		}
	}
	for _, w := range windows {
		b := model.Batch{Tokens: w, Spans: []model.Span{{KV: model.NewDenseKV(mc, len(w)), End: len(w)}}}
		for p := range w {
			b.Pos = append(b.Pos, int32(p))
		}
		if _, err := r.Forward(&b); err != nil {
			t.Fatal(err)
		}
		n += len(w)
	}
	for k := range out {
		for i := range out[k] {
			out[k][i] /= float64(n)
		}
	}
	return out
}
