// Package model holds decoder-only transformer weights (llama, qwen2, qwen3) and
// their forward pass. Weights come from GGUF (memory-mapped, never copied) or from a
// Hugging Face safetensors directory. The forward pass writes post-RoPE keys and
// values through the KV interface and exposes the pre-RoPE query and key of every
// layer and head through an optional tap (TriAttention calibration needs them).
package model

import (
	"fmt"
	"math"
)

// RopeStyle says which dimensions RoPE rotates together.
type RopeStyle int

const (
	// RopeInterleaved rotates pairs (2i, 2i+1): llama.cpp's "norm" mode, used by
	// GGUF llama files (their Q/K weights are permuted for it at conversion).
	RopeInterleaved RopeStyle = iota
	// RopeNeoX rotates pairs (i, i+d/2): qwen2, qwen3, and HF-layout llama weights.
	RopeNeoX
)

func (r RopeStyle) String() string {
	if r == RopeNeoX {
		return "neox"
	}
	return "interleaved"
}

// Config holds the hyperparameters of a model.
type Config struct {
	Arch       string // "llama", "qwen2" or "qwen3"
	Layers     int
	Dim        int // embedding length
	FFN        int // feed-forward hidden length
	Heads      int // query heads
	KVHeads    int
	HeadDim    int
	Vocab      int
	Context    int // trained context length
	NormEps    float32
	RopeTheta  float32
	RopeDim    int // rotated dimensions per head (== HeadDim for the supported models)
	Rope       RopeStyle
	RopeFreqs  []float32 // optional per-band frequency divisors (llama3 rope_freqs)
	QKNorm     bool      // per-head RMSNorm of q and k before RoPE (qwen3)
	AttnScale  float32   // 1/sqrt(HeadDim) unless the file says otherwise
	TiedOutput bool      // output projection shares token_embd
}

// GroupSize is the number of query heads per kv head.
func (c *Config) GroupSize() int { return c.Heads / c.KVHeads }

// KVBytesPerToken is the bytes one token's K and V take over all layers for an
// element size of elemBytes.
func (c *Config) KVBytesPerToken(elemBytes int) int {
	return c.Layers * c.KVHeads * c.HeadDim * 2 * elemBytes
}

func (c *Config) validate() error {
	switch {
	case c.Layers <= 0 || c.Layers > 1024:
		return fmt.Errorf("bad layer count %d", c.Layers)
	case c.Dim <= 0 || c.FFN <= 0 || c.Vocab <= 0:
		return fmt.Errorf("bad sizes: dim %d, ffn %d, vocab %d", c.Dim, c.FFN, c.Vocab)
	case c.Heads <= 0 || c.KVHeads <= 0 || c.Heads%c.KVHeads != 0:
		return fmt.Errorf("bad head counts: %d query heads, %d kv heads", c.Heads, c.KVHeads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return fmt.Errorf("bad head dimension %d", c.HeadDim)
	case c.RopeDim <= 0 || c.RopeDim > c.HeadDim || c.RopeDim%2 != 0:
		return fmt.Errorf("bad rope dimension %d (head dim %d)", c.RopeDim, c.HeadDim)
	case c.RopeFreqs != nil && len(c.RopeFreqs) != c.RopeDim/2:
		return fmt.Errorf("rope_freqs has %d entries, want %d", len(c.RopeFreqs), c.RopeDim/2)
	case !(c.RopeTheta > 0) || math.IsInf(float64(c.RopeTheta), 0):
		return fmt.Errorf("bad rope theta %v", c.RopeTheta)
	case !(c.NormEps > 0):
		return fmt.Errorf("bad norm epsilon %v", c.NormEps)
	}
	return nil
}
