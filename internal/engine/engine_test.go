package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/engine"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
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

// TestPagedMatchesDenseAndLlamaCpp: greedy output through the paged cache is
// identical to the dense reference path (F32) and to llama.cpp (F16 cache, its
// default).
func TestPagedMatchesDenseAndLlamaCpp(t *testing.T) {
	for _, rel := range []string{oracle.StoriesModel, defaultModel} {
		t.Run(rel, func(t *testing.T) {
			m := load(t, rel)
			prompt := m.Tokenizer.Encode("Once upon a time, in a small village by the sea,", true, false)
			const n = 64
			dense := greedy(t, m, model.NewDenseKV(&m.Config, len(prompt)+n), prompt, n)
			blocks := m.Config.Layers * m.Config.KVHeads * ((len(prompt) + n + 15) / 16)
			if got := greedy(t, m, pagedKV(t, m, kvcache.F32, blocks), prompt, n); !slices.Equal(got, dense) {
				t.Fatalf("paged f32 %v\ndense      %v", got, dense)
			}
			oracle.RequireOrSkip(t)
			ref, _, err := oracle.Client{Model: oracle.RequireModel(t, rel), Threads: 2, KVType: "F16"}.Greedy(prompt, n, -1)
			if err != nil {
				t.Fatal(err)
			}
			if got := greedy(t, m, pagedKV(t, m, kvcache.F16, blocks), prompt, n); !slices.Equal(got, ref) {
				t.Fatalf("paged f16 %v\nllama.cpp %v", got, ref)
			}
		})
	}
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
