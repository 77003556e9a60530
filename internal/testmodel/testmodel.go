// Package testmodel writes tiny random-weight GGUF models of every supported
// architecture and tensor type, with a real vocabulary copied from another GGUF
// file. llama.cpp loads them too, which makes every architecture and quant
// format checkable against the oracle without real weights.
package testmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/kvpack/kvpack/internal/gguf"
	"github.com/kvpack/kvpack/internal/tensor"
)

// Spec describes a tiny model. Zero sizes take small defaults that every block
// size divides (Dim 256, FFN 512, 2 layers, 4 heads, 2 kv heads, head dim 64).
type Spec struct {
	Arch      string       // llama, qwen2, qwen3
	Type      tensor.DType // type of every matrix and of the token embedding
	Layers    int
	Dim, FFN  int
	Heads     int
	KVHeads   int
	HeadDim   int // qwen3 may differ from Dim/Heads (written as attention.key_length)
	RopeFreqs bool
	TiedOut   bool // omit output.weight
	Seed      uint64
	VocabFrom string // GGUF file whose tokenizer.* metadata is copied
	Pre       string // override tokenizer.ggml.pre (e.g. "qwen2")
}

func (s *Spec) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.Layers, 2)
	def(&s.Dim, 256)
	def(&s.FFN, 512)
	def(&s.Heads, 4)
	def(&s.KVHeads, 2)
	def(&s.HeadDim, s.Dim/s.Heads)
}

// Write builds the model described by s and writes it to path.
func Write(path string, s Spec) error {
	s.defaults()
	src, err := gguf.Open(s.VocabFrom)
	if err != nil {
		return fmt.Errorf("vocabulary source: %w", err)
	}
	defer src.Close()
	tokens, ok := src.Strings("tokenizer.ggml.tokens")
	if !ok {
		return fmt.Errorf("%s has no tokenizer.ggml.tokens", s.VocabFrom)
	}
	w := gguf.NewWriter()
	writeMeta(w, &s, len(tokens))
	for _, k := range src.Keys() {
		if strings.HasPrefix(k, "tokenizer.") {
			v, _ := src.Value(k)
			w.Set(k, v)
		}
	}
	if s.Pre != "" {
		w.Set("tokenizer.ggml.pre", s.Pre)
	}
	g := gen{w: w, rng: rand.New(rand.NewPCG(s.Seed, 42))}
	writeTensors(&g, &s, len(tokens))
	if g.err != nil {
		return g.err
	}
	return w.WriteFile(path)
}

func writeMeta(w *gguf.Writer, s *Spec, vocab int) {
	a := s.Arch + "."
	w.Set("general.architecture", s.Arch)
	w.Set("general.name", fmt.Sprintf("kvpack-tiny-%s-%v", s.Arch, s.Type))
	w.Set(a+"block_count", uint32(s.Layers))
	w.Set(a+"context_length", uint32(2048))
	w.Set(a+"embedding_length", uint32(s.Dim))
	w.Set(a+"feed_forward_length", uint32(s.FFN))
	w.Set(a+"attention.head_count", uint32(s.Heads))
	w.Set(a+"attention.head_count_kv", uint32(s.KVHeads))
	w.Set(a+"attention.key_length", uint32(s.HeadDim))
	w.Set(a+"attention.value_length", uint32(s.HeadDim))
	w.Set(a+"rope.dimension_count", uint32(s.HeadDim))
	w.Set(a+"rope.freq_base", float32(10000))
	w.Set(a+"attention.layer_norm_rms_epsilon", float32(1e-5))
	w.Set(a+"vocab_size", uint32(vocab))
}

// gen draws random tensors and adds them to the writer, keeping the first error.
type gen struct {
	w   *gguf.Writer
	rng *rand.Rand
	err error
}

func writeTensors(g *gen, s *Spec, vocab int) {
	q, kv := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	g.matrix("token_embd.weight", s.Type, vocab, s.Dim, 0.35)
	g.vector("output_norm.weight", s.Dim, 1, 0.1)
	if !s.TiedOut {
		g.matrix("output.weight", s.Type, vocab, s.Dim, 0.35)
	}
	if s.RopeFreqs {
		f := make([]float32, s.HeadDim/2)
		for i := range f {
			f[i] = 1 + float32(i%4) // llama3-style: low-frequency bands slowed down
		}
		g.add("rope_freqs.weight", tensor.F32, []uint64{uint64(len(f))}, f)
	}
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		g.vector(p+"attn_norm.weight", s.Dim, 1, 0.1)
		g.matrix(p+"attn_q.weight", s.Type, q, s.Dim, 1/math.Sqrt(float64(s.Dim)))
		g.matrix(p+"attn_k.weight", s.Type, kv, s.Dim, 1/math.Sqrt(float64(s.Dim)))
		g.matrix(p+"attn_v.weight", s.Type, kv, s.Dim, 1/math.Sqrt(float64(s.Dim)))
		g.matrix(p+"attn_output.weight", s.Type, s.Dim, q, 1/math.Sqrt(float64(q)))
		if s.Arch == "qwen2" {
			g.vector(p+"attn_q.bias", q, 0, 0.2)
			g.vector(p+"attn_k.bias", kv, 0, 0.2)
			g.vector(p+"attn_v.bias", kv, 0, 0.2)
		}
		if s.Arch == "qwen3" {
			g.vector(p+"attn_q_norm.weight", s.HeadDim, 1, 0.2)
			g.vector(p+"attn_k_norm.weight", s.HeadDim, 1, 0.2)
		}
		g.vector(p+"ffn_norm.weight", s.Dim, 1, 0.1)
		g.matrix(p+"ffn_gate.weight", s.Type, s.FFN, s.Dim, 1/math.Sqrt(float64(s.Dim)))
		g.matrix(p+"ffn_up.weight", s.Type, s.FFN, s.Dim, 1/math.Sqrt(float64(s.Dim)))
		g.matrix(p+"ffn_down.weight", s.Type, s.Dim, s.FFN, 1/math.Sqrt(float64(s.FFN)))
	}
}

func (g *gen) normal(n int, mean, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(mean + std*g.rng.NormFloat64())
	}
	return out
}

func (g *gen) vector(name string, n int, mean, std float64) {
	g.add(name, tensor.F32, []uint64{uint64(n)}, g.normal(n, mean, std))
}

func (g *gen) matrix(name string, t tensor.DType, rows, cols int, std float64) {
	g.add(name, t, []uint64{uint64(cols), uint64(rows)}, g.normal(rows*cols, 0, std))
}

// add quantizes row by row and appends the tensor.
func (g *gen) add(name string, t tensor.DType, shape []uint64, vals []float32) {
	if g.err != nil {
		return
	}
	cols := int(shape[0])
	rb := t.RowBytes(cols)
	data := make([]byte, len(vals)/cols*rb)
	for r := 0; r < len(vals)/cols; r++ {
		if err := tensor.QuantizeRow(t, vals[r*cols:(r+1)*cols], data[r*rb:(r+1)*rb]); err != nil {
			g.err = fmt.Errorf("%s: %w", name, err)
			return
		}
	}
	if err := g.w.AddTensor(name, t, shape, data); err != nil {
		g.err = err
	}
}
