package engine_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/engine"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/sample"
)

const defaultModel = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

func load(t *testing.T, rel string) *model.Model {
	t.Helper()
	m, err := model.Load(oracle.RequireModel(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func greedy(t *testing.T, m *model.Model, kv model.KV, prompt []int32, n int) []int32 {
	t.Helper()
	p := parallel.New(2)
	defer p.Close()
	var out []int32
	opt := engine.Options{MaxTokens: n, IgnoreEOS: true, PrefillChunk: 7}
	_, err := engine.Generate(context.Background(), model.NewRunner(m, p), kv, prompt, opt, func(id int32) error {
		out = append(out, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pagedKV(t *testing.T, m *model.Model, dt kvcache.DType, blocks int) *kvcache.Sequence {
	t.Helper()
	c := &m.Config
	pool, err := kvcache.NewPool(kvcache.Shape{Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: c.AttnScale},
		kvcache.Options{BlockSize: 16, DType: dt, Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	s := kvcache.NewSequence(pool)
	t.Cleanup(s.Release)
	return s
}

// teacherForce feeds prompt then gen through kv (prefill chunks of 7, then one
// token per step) and returns the logits before each gen token: [len(gen)][Vocab].
func teacherForce(t *testing.T, m *model.Model, kv model.KV, prompt, gen []int32) [][]float32 {
	t.Helper()
	p := parallel.New(2)
	defer p.Close()
	r := model.NewRunner(m, p)
	seq := append(slices.Clone(prompt), gen...)
	var out [][]float32
	for start := 0; start < len(seq)-1; {
		end := min(start+7, len(prompt))
		if start >= len(prompt) {
			end = start + 1
		}
		b := model.Batch{Tokens: seq[start:end], Spans: []model.Span{{KV: kv, End: end - start}}, Logits: []int{end - start - 1}}
		for i := start; i < end; i++ {
			b.Pos = append(b.Pos, int32(i))
		}
		if res, ok := kv.(engine.Reserver); ok {
			if err := res.Reserve(end - start); err != nil {
				t.Fatal(err)
			}
		}
		logits, err := r.Forward(&b)
		if err != nil {
			t.Fatal(err)
		}
		if end >= len(prompt) {
			out = append(out, slices.Clone(logits))
		}
		start = end
	}
	return out
}

// TestPagedMatchesDenseAndLlamaCpp: the paged cache's greedy output equals the
// dense reference path's, and llama.cpp's (F16 cache, its default). Free-running
// greedy decoding amplifies the last-bit differences of two softmax orders, so
// the comparison is teacher-forced: the same tokens go through both, logits are
// compared per step, and every greedy pick must agree unless the reference's top
// two are closer than the tolerance.
func TestPagedMatchesDenseAndLlamaCpp(t *testing.T) {
	skipShort(t)
	// SmolLM2 has outlier activations: a last-bit change in one Q8 activation
	// block can flip a rounding and move logits by up to ~1 (measured: dense and
	// paged both sit 0.1-0.5 log-prob from llama.cpp and from each other), so its
	// dense-vs-paged bound is loose; the F32 stories model agrees to 1e-5.
	for _, tc := range []struct {
		rel string
		tol float64
	}{{oracle.StoriesModel, 1e-3}, {defaultModel, 2}} {
		rel, tol := tc.rel, tc.tol
		t.Run(rel, func(t *testing.T) {
			m := load(t, rel)
			prompt := m.Tokenizer.Encode("Once upon a time, in a small village by the sea,", true, false)
			const n = 64
			gen := greedy(t, m, model.NewDenseKV(&m.Config, len(prompt)+n), prompt, n)
			blocks := m.Config.Layers * m.Config.KVHeads * ((len(prompt) + n + 15) / 16)
			dense := teacherForce(t, m, model.NewDenseKV(&m.Config, len(prompt)+n), prompt, gen)
			paged := teacherForce(t, m, pagedKV(t, m, kvcache.F32, blocks), prompt, gen)
			var worst float64
			for i := range gen {
				worst = max(worst, maxAbsDiff(dense[i], paged[i]))
				if a := sample.Greedy(paged[i]); a != gen[i] && margin(dense[i]) > tol {
					t.Fatalf("step %d: paged picks %d, dense %d", i, a, gen[i])
				}
			}
			if worst > tol {
				t.Fatalf("paged f32 logits differ from dense by %.3g", worst)
			}
			t.Logf("paged f32 vs dense: max |logit diff| %.3g over %d steps", worst, n)
			oracle.RequireOrSkip(t)
			ref, steps, err := oracle.Client{Model: oracle.RequireModel(t, rel), Threads: 2, KVType: "F16"}.Greedy(prompt, n, 2)
			if err != nil {
				t.Fatal(err)
			}
			f16 := teacherForce(t, m, pagedKV(t, m, kvcache.F16, blocks), prompt, ref)
			agree := 0
			for i := range ref {
				a := sample.Greedy(f16[i])
				gap := math.Log(float64(steps[i].Top[0].Prob)) - math.Log(float64(steps[i].Top[1].Prob))
				// SmolLM2 logits move by up to ~1 under last-bit changes (see above).
				if a != ref[i] && gap > 1 {
					t.Fatalf("step %d: paged f16 picks %d, llama.cpp %d (its margin %.3f)", i, a, ref[i], gap)
				}
				if a == ref[i] {
					agree++
				}
			}
			if agree < n*7/8 {
				t.Fatalf("paged f16 vs llama.cpp f16: only %d/%d greedy picks agree", agree, n)
			}
			t.Logf("paged f16 vs llama.cpp f16: %d/%d greedy picks agree", agree, n)
		})
	}
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// margin is the gap between the two largest logits.
func margin(x []float32) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return float64(s[len(s)-1] - s[len(s)-2])
}

// TestCacheFullIsAnError: a pool too small for the prompt fails with the
// cache-full error, and gives every block back.
func TestCacheFullIsAnError(t *testing.T) {
	m := load(t, oracle.StoriesModel)
	prompt := m.Tokenizer.Encode("Once upon a time there was a dog", true, false)
	kv := pagedKV(t, m, kvcache.F32, m.Config.Layers*m.Config.KVHeads) // one block per table: 16 tokens
	p := parallel.New(1)
	defer p.Close()
	_, err := engine.Generate(context.Background(), model.NewRunner(m, p), kv, prompt, engine.Options{MaxTokens: 40, IgnoreEOS: true}, func(int32) error { return nil })
	if !errors.Is(err, kvcache.ErrCacheFull) {
		t.Fatalf("err = %v, want kv cache full", err)
	}
	kv.Release()
	if used := kv.Pool().Used(); used != 0 {
		t.Fatalf("%d blocks still used after release", used)
	}
}

func TestContextLengthExceeded(t *testing.T) {
	m := load(t, oracle.StoriesModel)
	prompt := make([]int32, m.Config.Context)
	p := parallel.New(1)
	defer p.Close()
	_, err := engine.Generate(context.Background(), model.NewRunner(m, p), model.NewDenseKV(&m.Config, 1), prompt, engine.Options{MaxTokens: 2}, nil)
	if !errors.Is(err, engine.ErrContextLength) {
		t.Fatalf("err = %v, want context length exceeded", err)
	}
}

// skipShort skips whole-model comparisons in -short mode: `make test` runs the
// race detector with -short and the full suite without it.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model test: runs without -short")
	}
}

// TestBatchedDecodeMatchesSingle: several sequences decoded in one forward pass
// (one span each, every weight read once per step) produce exactly the logits
// each gets alone.
func TestBatchedDecodeMatchesSingle(t *testing.T) {
	m := load(t, oracle.StoriesModel)
	prompts := [][]int32{
		m.Tokenizer.Encode("Once upon a time", true, false),
		m.Tokenizer.Encode("The little dog ran to the park and", true, false),
		m.Tokenizer.Encode("Lily", true, false),
	}
	alone := make([][][]float32, len(prompts))
	var gens [][]int32
	for i, p := range prompts {
		g := greedy(t, m, model.NewDenseKV(&m.Config, 64), p, 12)
		gens = append(gens, g)
		alone[i] = teacherForce(t, m, pagedKV(t, m, kvcache.F32, 64), p, g)
	}
	pool := parallel.New(2)
	defer pool.Close()
	r := model.NewRunner(m, pool)
	kvs := make([]*kvcache.Sequence, len(prompts))
	// Prefill all prompts in one batch, then decode all sequences together.
	var b model.Batch
	for i, p := range prompts {
		kvs[i] = pagedKV(t, m, kvcache.F32, 64)
		if err := kvs[i].Reserve(len(p)); err != nil {
			t.Fatal(err)
		}
		start := len(b.Tokens)
		for j, id := range p {
			b.Tokens, b.Pos = append(b.Tokens, id), append(b.Pos, int32(j))
		}
		b.Spans = append(b.Spans, model.Span{KV: kvs[i], Start: start, End: len(b.Tokens)})
		b.Logits = append(b.Logits, len(b.Tokens)-1)
	}
	for step := 0; step < 12; step++ {
		logits, err := r.Forward(&b)
		if err != nil {
			t.Fatal(err)
		}
		V := m.Config.Vocab
		for i := range prompts {
			if d := maxAbsDiff(logits[i*V:(i+1)*V], alone[i][step]); d > 1e-5 {
				t.Fatalf("step %d seq %d: batched logits differ from single by %.3g", step, i, d)
			}
		}
		b = model.Batch{}
		for i, p := range prompts {
			if err := kvs[i].Reserve(1); err != nil {
				t.Fatal(err)
			}
			b.Tokens, b.Pos = append(b.Tokens, gens[i][step]), append(b.Pos, int32(len(p)+step))
			b.Spans = append(b.Spans, model.Span{KV: kvs[i], Start: i, End: i + 1})
			b.Logits = append(b.Logits, i)
		}
	}
}
