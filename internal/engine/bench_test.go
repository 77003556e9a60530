package engine_test

import (
	"testing"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
)

// BenchmarkDecodeStep measures one decode step of the default model at a
// context of 256 tokens through the paged cache (ns/op = time per token).
func BenchmarkDecodeStep(b *testing.B) {
	m, err := model.Load(oracle.RequireModel(b, defaultModel))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	p := parallel.New(0)
	defer p.Close()
	r := model.NewRunner(m, p)
	c := &m.Config
	pool, err := kvcache.NewPool(kvcache.Shape{Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: c.AttnScale},
		kvcache.Options{DType: kvcache.F16, Blocks: c.Layers * c.KVHeads * 64})
	if err != nil {
		b.Fatal(err)
	}
	seq := kvcache.NewSequence(pool)
	prompt := make([]int32, 256)
	for i := range prompt {
		prompt[i] = int32(i + 100)
	}
	pos := make([]int32, len(prompt))
	for i := range pos {
		pos[i] = int32(i)
	}
	if err := seq.Reserve(len(prompt)); err != nil {
		b.Fatal(err)
	}
	if _, err := r.Forward(&model.Batch{Tokens: prompt, Pos: pos, Spans: []model.Span{{KV: seq, End: len(prompt)}}}); err != nil {
		b.Fatal(err)
	}
	tok, tpos, logits := []int32{42}, []int32{0}, []int{0}
	spans := []model.Span{{KV: seq, End: 1}}
	step := model.Batch{Tokens: tok, Pos: tpos, Spans: spans, Logits: logits}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%256 == 0 && i > 0 {
			b.StopTimer()
			seq.Release()
			seq = kvcache.NewSequence(pool)
			spans[0].KV = seq
			seq.Reserve(len(prompt))
			r.Forward(&model.Batch{Tokens: prompt, Pos: pos, Spans: []model.Span{{KV: seq, End: len(prompt)}}})
			b.StartTimer()
		}
		tpos[0] = int32(len(prompt) + i%256)
		seq.Reserve(1)
		if _, err := r.Forward(&step); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrefill measures a 256-token prompt of the default model through
// the paged cache in one forward pass (ns/op = time per prompt).
func BenchmarkPrefill(b *testing.B) {
	m, err := model.Load(oracle.RequireModel(b, defaultModel))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	p := parallel.New(0)
	defer p.Close()
	r := model.NewRunner(m, p)
	c := &m.Config
	pool, err := kvcache.NewPool(kvcache.Shape{Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: c.AttnScale},
		kvcache.Options{DType: kvcache.F16, Blocks: c.Layers * c.KVHeads * 32})
	if err != nil {
		b.Fatal(err)
	}
	prompt, pos := make([]int32, 256), make([]int32, 256)
	for i := range prompt {
		prompt[i], pos[i] = int32(i+100), int32(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seq := kvcache.NewSequence(pool)
		if err := seq.Reserve(len(prompt)); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Forward(&model.Batch{Tokens: prompt, Pos: pos, Spans: []model.Span{{KV: seq, End: len(prompt)}}, Logits: []int{len(prompt) - 1}}); err != nil {
			b.Fatal(err)
		}
		seq.Release()
	}
	b.ReportMetric(float64(len(prompt))*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}
