package compress

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
)

// testConfig is a model config for random-tensor tests.
func testConfig(layers, heads, kvHeads, hd int, style model.RopeStyle) *model.Config {
	return &model.Config{
		Arch: "llama", Layers: layers, Dim: heads * hd, FFN: 4 * heads * hd, Heads: heads, KVHeads: kvHeads,
		HeadDim: hd, Vocab: 16, Context: 1 << 20, NormEps: 1e-5, RopeTheta: 10000, RopeDim: hd, Rope: style,
		AttnScale: float32(1 / math.Sqrt(float64(hd))),
	}
}

func shapeOf(mc *model.Config) kvcache.Shape {
	return kvcache.Shape{Layers: mc.Layers, Heads: mc.Heads, KVHeads: mc.KVHeads, HeadDim: mc.HeadDim, Scale: mc.AttnScale}
}

func newSeq(t testing.TB, mc *model.Config, bs, blocks int) (*kvcache.Pool, *kvcache.Sequence) {
	t.Helper()
	pool, err := kvcache.NewPool(shapeOf(mc), kvcache.Options{BlockSize: bs, Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	return pool, kvcache.NewSequence(pool)
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// step is one Attend call of one layer: pre-RoPE queries [T][Heads*HeadDim].
type step struct {
	pos []int32
	q   []float32
}

// trace is a sequence with the queries that attended over it.
type trace struct {
	mc    *model.Config
	seq   *kvcache.Sequence
	qw    *QueryWindow
	steps [][]step // [layer]
	next  int32
}

func newTrace(mc *model.Config, seq *kvcache.Sequence, window int) *trace {
	seq.EnableTaps(true)
	seq.EnableLastAttention(true)
	return &trace{mc: mc, seq: seq, qw: NewQueryWindow(mc, window), steps: make([][]step, mc.Layers)}
}

// record is a model.Tap that keeps the pre-RoPE queries.
func (tr *trace) record(layer int, pos []int32, q, _ []float32) {
	tr.steps[layer] = append(tr.steps[layer], step{append([]int32(nil), pos...), append([]float32(nil), q...)})
	if err := tr.qw.Record(layer, pos, q); err != nil {
		panic(err) // test helper: shapes are fixed by the test
	}
}

// randomStep stores T random tokens and attends with random queries rotated
// by the model's recipe.
func (tr *trace) randomStep(t testing.TB, rng *rand.Rand, T int) {
	t.Helper()
	mc := tr.mc
	if err := tr.seq.Reserve(T); err != nil {
		t.Fatal(err)
	}
	pos := make([]int32, T)
	for i := range pos {
		pos[i] = tr.next + int32(i)
	}
	tr.next += int32(T)
	kvd, qd, hd := mc.KVHeads*mc.HeadDim, mc.Heads*mc.HeadDim, mc.HeadDim
	cs, sn := make([]float32, mc.RopeDim/2), make([]float32, mc.RopeDim/2)
	for l := range mc.Layers {
		if err := tr.seq.Store(l, pos, randVec(rng, T*kvd), randVec(rng, T*kvd)); err != nil {
			t.Fatal(err)
		}
		q := randVec(rng, T*qd)
		tr.record(l, pos, q, nil)
		for i := range T {
			for h := range mc.Heads {
				Rotate(mc, q[i*qd+h*hd:i*qd+(h+1)*hd], pos[i], cs, sn)
			}
		}
		out := make([]float32, T*qd)
		tr.seq.Attend(l, pos, q, out, nil)
		if err := tr.seq.Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// randomTrace fills a sequence with n tokens: a prefill in chunks, then decode steps.
func randomTrace(t testing.TB, mc *model.Config, n, window int, seed uint64) *trace {
	rng := rand.New(rand.NewPCG(seed, 7))
	_, seq := newSeq(t, mc, 8, mc.Layers*mc.KVHeads*(n/8+2))
	tr := newTrace(mc, seq, window)
	for int(tr.next) < n {
		T := 1
		if int(tr.next) < n/2 {
			T = min(1+rng.IntN(40), n/2-int(tr.next))
		}
		tr.randomStep(t, rng, T)
	}
	return tr
}

// modelTrace runs a real model over n tokens of text through a paged sequence.
func modelTrace(t testing.TB, m *model.Model, n, window int) *trace {
	t.Helper()
	ids := textTokens(t, m, 8000, true)[:n]
	_, seq := newSeq(t, &m.Config, 8, m.Config.Layers*m.Config.KVHeads*(n/8+2))
	tr := newTrace(&m.Config, seq, window)
	pool := parallel.New(1)
	defer pool.Close()
	r := model.NewRunner(m, pool)
	r.Tap = tr.record
	for s := 0; s < n; {
		T := 1
		if s < n/2 {
			T = min(37, n/2-s)
		}
		b := model.Batch{Tokens: ids[s : s+T], Spans: []model.Span{{KV: seq, End: T}}}
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
	}
	tr.next = int32(n)
	return tr
}

// textTokens tokenizes the first nbytes of a public-domain novel.
func textTokens(t testing.TB, m *model.Model, nbytes int, bos bool) []int32 {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(moduleRoot(t), "../shared/data/texts/prideprejudice.txt"))
	if err != nil {
		t.Skipf("calibration text: %v", err)
	}
	return m.Tokenizer.Encode(string(text[:min(nbytes, len(text))]), bos, false)
}

func moduleRoot(t testing.TB) string {
	root, err := oracle.ModuleRoot()
	if err != nil {
		t.Skipf("module root: %v", err)
	}
	return root
}

// loadStories loads the stories260K fixture (skipping when it is missing).
func loadStories(t testing.TB) *model.Model {
	t.Helper()
	path := oracle.RequireModel(t, oracle.StoriesModel)
	m, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// randomStats draws statistics with |Q̄_f| <= M_f for a config.
func randomStats(mc *model.Config, seed uint64) *Stats {
	rng := rand.New(rand.NewPCG(seed, 11))
	s := NewStats(MetaFor(mc))
	for i := range s.QMeanRe {
		re, im := rng.NormFloat64(), rng.NormFloat64()
		s.QMeanRe[i], s.QMeanIm[i] = float32(re), float32(im)
		s.QAbsMean[i] = float32(math.Hypot(re, im) * (1 + rng.Float64()))
	}
	return s
}

// tableKeys reads a table's keys as float64 rows and its positions.
func tableKeys(t testing.TB, tab *kvcache.Table, hd int) ([][]float64, []int32) {
	t.Helper()
	k := make([]float32, hd)
	var keys [][]float64
	var pos []int32
	for i := range tab.Len() {
		p, err := tab.Key(i, k)
		if err != nil {
			t.Fatal(err)
		}
		row := make([]float64, hd)
		for e, x := range k {
			row[e] = float64(x)
		}
		keys, pos = append(keys, row), append(pos, p)
	}
	return keys, pos
}
