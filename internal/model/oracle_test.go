package model_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/tensor"
	"github.com/kvpack/kvpack/internal/testmodel"
)

const defaultModel = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

// oracleCase is one model checked against llama.cpp.
type oracleCase struct {
	name    string
	path    string          // real model (relative to the module root), or
	spec    *testmodel.Spec // a tiny random model written for the test
	kvType  string          // oracle KV cache type
	maxLogp float64         // tolerance on |log p| over the oracle's top tokens
	prompts []string
	idsOnly bool // llama.cpp's file carries a stand-in vocabulary: compare from token ids only
	// maxMeanTop1 bounds the mean over steps of |Δ log p| of llama.cpp's
	// greedy token (0: not checked).
	maxMeanTop1 float64
}

var oraclePrompts = []string{
	"Once upon a time",
	"The capital of France is",
	"def fibonacci(n):\n    if n < 2:\n        return n",
}

// oracleGreedyTokens is how many greedy tokens each prompt is compared over.
const oracleGreedyTokens = 64

// check runs prompt tokenization, greedy continuation and per-step
// distributions through both engines and compares them.
func (oc oracleCase) check(t *testing.T, path string) { oc.checkWith(t, path, path) }

// checkWith loads kvpack's model from ours and llama.cpp's from theirs.
func (oc oracleCase) checkWith(t *testing.T, ours_, path string) {
	m, err := model.Load(ours_)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := oracle.Client{Model: path, Threads: 2, Context: 512, KVType: oc.kvType}
	var ops []oracle.Op
	var ours [][]int32
	for _, p := range oc.prompts {
		ids := m.Tokenizer.Encode(p, true, false)
		ours = append(ours, ids)
		ops = append(ops, oracle.Op{Op: "tokenize", Text: p, AddBOS: m.Tokenizer.AddBOS()},
			oracle.Op{Op: "greedy", IDs: ids, N: oracleGreedyTokens, Probs: true, TopK: 8})
	}
	resp, err := c.Do(oracle.Request{Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	pool := parallel.New(2)
	defer pool.Close()
	r := model.NewRunner(m, pool)
	for i, p := range oc.prompts {
		if want := resp.Results[2*i].IDs; !oc.idsOnly && !slices.Equal(ours[i], want) {
			t.Errorf("prompt %q: tokens %v, llama.cpp %v", p, ours[i], want)
			continue
		}
		g := resp.Results[2*i+1]
		compareGreedy(t, r, oc, ours[i], g.IDs, g.Steps)
	}
}

// compareGreedy teacher-forces llama.cpp's greedy continuation through kvpack and
// checks, per step, that kvpack's argmax is llama.cpp's token (unless llama.cpp's
// own top two are within the tolerance) and that log-probabilities of llama.cpp's
// top tokens agree within maxLogp.
func compareGreedy(t *testing.T, r *model.Runner, oc oracleCase, prompt, gen []int32, steps []oracle.Step) {
	t.Helper()
	kv := model.NewDenseKV(&r.M.Config, len(prompt)+len(gen))
	seq := append(slices.Clone(prompt), gen...)
	var worst, sumTop1 float64
	for step := range gen {
		lo, hi := 0, len(prompt)
		if step > 0 {
			lo, hi = len(prompt)+step-1, len(prompt)+step
		}
		b := model.Batch{Tokens: seq[lo:hi], Spans: []model.Span{{KV: kv, End: hi - lo}}, Logits: []int{hi - lo - 1}}
		for p := lo; p < hi; p++ {
			b.Pos = append(b.Pos, int32(p))
		}
		logits, err := r.Forward(&b)
		if err != nil {
			t.Fatal(err)
		}
		lp := logSoftmax(logits)
		top := steps[step].Top
		sumTop1 += math.Abs(math.Log(float64(top[0].Prob)) - lp[top[0].ID])
		for _, tp := range top {
			d := math.Abs(math.Log(float64(tp.Prob)) - lp[tp.ID])
			worst = math.Max(worst, d)
			if tp.Prob > 1e-2 && d > oc.maxLogp {
				t.Fatalf("step %d token %d: log p %.5f, llama.cpp %.5f (tolerance %g)", step, tp.ID, lp[tp.ID], math.Log(float64(tp.Prob)), oc.maxLogp)
			}
		}
		if am := argmax(lp); int32(am) != gen[step] {
			margin := math.Log(float64(top[0].Prob)) - math.Log(float64(top[1].Prob))
			if margin > oc.maxLogp {
				t.Fatalf("step %d: kvpack picks %d, llama.cpp %d (llama.cpp margin %.4f)", step, am, gen[step], margin)
			}
		}
	}
	mean := sumTop1 / float64(len(gen))
	t.Logf("%d steps, worst |log p| difference over llama.cpp's top-8: %.3g, mean on its greedy token: %.3g", len(gen), worst, mean)
	if oc.maxMeanTop1 > 0 && mean > oc.maxMeanTop1 {
		t.Fatalf("mean |log p| difference on llama.cpp's greedy tokens %.3g > %g", mean, oc.maxMeanTop1)
	}
}

func TestOracleRealModels(t *testing.T) {
	skipShort(t)
	oracle.RequireOrSkip(t)
	cases := []oracleCase{
		{name: "stories260K-f32kv", path: oracle.StoriesModel, kvType: "F32", maxLogp: 1e-4, prompts: oraclePrompts},
		{name: "stories260K-f16kv", path: oracle.StoriesModel, kvType: "F16", maxLogp: 2e-2, prompts: oraclePrompts},
		// SmolLM2: llama.cpp batches its Q8_0/Q4_1 prompt matmuls through kernels whose
		// activation handling differs from its single-token path (measured: a 1-token
		// prompt agrees to 3e-6, a 2-token prompt differs by 0.27 on a Q8_0 model), so
		// the prompt step carries a ~0.1 log-probability difference.
		// Its outlier activations make it sensitive: last-bit differences flip Q8
		// activation roundings (measured worst over tokens with p > 0.01: 0.62),
		// so single tokens get a loose bound and the mean over steps a tight one.
		{name: "smollm2-q4_1", path: defaultModel, kvType: "F32", maxLogp: 1, maxMeanTop1: 0.1, prompts: oraclePrompts[:2]},
		{name: "smollm2-q4_1-f16kv", path: defaultModel, kvType: "F16", maxLogp: 1, maxMeanTop1: 0.1, prompts: oraclePrompts[2:]},
	}
	for _, oc := range cases {
		t.Run(oc.name, func(t *testing.T) {
			oc.check(t, oracle.RequireModel(t, oc.path))
		})
	}
}

// typeTolerance bounds |log p| differences to llama.cpp per weight type, over
// 64 teacher-forced steps on random-weight models. F32 weights agree to float
// rounding (measured 1.4e-5). For the other types both engines quantize or round
// activations the same way but sum in different orders; where a last-bit
// difference flips one activation's rounding, these random models amplify it
// (measured worst: 0.02 for F16/BF16, 0.36 for qwen3 Q4_K, 0.29 for Q8_0).
// Greedy picks must still agree unless llama.cpp's top two are that close.
var typeTolerance = map[tensor.DType]float64{
	tensor.F32: 1e-3, tensor.F16: 0.5, tensor.BF16: 0.5, tensor.Q4_K: 0.5, tensor.Q5_K: 0.5,
	tensor.Q8_0: 0.5, tensor.Q4_0: 0.5, tensor.Q4_1: 0.5, tensor.Q5_0: 0.5, tensor.Q5_1: 0.5, tensor.Q6_K: 0.5,
}

func TestOracleTinyModels(t *testing.T) {
	skipShort(t)
	oracle.RequireOrSkip(t)
	stories := oracle.RequireModel(t, oracle.StoriesModel)
	types := []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_1,
		tensor.Q5_0, tensor.Q5_1, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K}
	var cases []oracleCase
	for _, ty := range types {
		spec := testmodel.Spec{Arch: "llama", Type: ty, Seed: 1, VocabFrom: stories}
		cases = append(cases, oracleCase{name: "llama-" + ty.String(), spec: &spec, kvType: "F32", maxLogp: typeTolerance[ty], prompts: oraclePrompts[:1]})
	}
	gpt2 := oracle.RequireModel(t, defaultModel)
	more := []struct {
		name string
		spec testmodel.Spec
	}{
		{"qwen2-Q8_0-biases", testmodel.Spec{Arch: "qwen2", Type: tensor.Q8_0, Seed: 2, VocabFrom: gpt2, Pre: "qwen2", Dim: 128, FFN: 256, TiedOut: true}},
		{"qwen3-Q4_K-qknorm-headdim", testmodel.Spec{Arch: "qwen3", Type: tensor.Q4_K, Seed: 3, VocabFrom: gpt2, Pre: "qwen2", Dim: 256, Heads: 4, KVHeads: 1, HeadDim: 128}},
		{"llama-F16-ropefreqs-gqa3", testmodel.Spec{Arch: "llama", Type: tensor.F16, Seed: 4, VocabFrom: stories, Heads: 6, KVHeads: 2, HeadDim: 32, Dim: 192, RopeFreqs: true}},
	}
	for _, mc := range more {
		spec := mc.spec
		cases = append(cases, oracleCase{name: mc.name, spec: &spec, kvType: "F32", maxLogp: typeTolerance[spec.Type], prompts: oraclePrompts})
	}
	for _, oc := range cases {
		t.Run(oc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), fmt.Sprintf("%s.gguf", oc.name))
			if err := testmodel.Write(path, *oc.spec); err != nil {
				t.Fatal(err)
			}
			oc.check(t, path)
		})
	}
}

func logSoftmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - m - math.Log(s)
	}
	return out
}

func argmax(x []float64) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

// skipShort skips whole-model comparisons in -short mode: `make test` runs the
// race detector with -short and the full suite without it.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model test: runs without -short")
	}
}
