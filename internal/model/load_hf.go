package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/kvpack/kvpack/internal/safetensors"
	"github.com/kvpack/kvpack/internal/tensor"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

// hfConfig is the subset of a Hugging Face config.json kvpack reads.
type hfConfig struct {
	ModelType         string   `json:"model_type"`
	HiddenSize        int      `json:"hidden_size"`
	IntermediateSize  int      `json:"intermediate_size"`
	NumLayers         int      `json:"num_hidden_layers"`
	NumHeads          int      `json:"num_attention_heads"`
	NumKVHeads        int      `json:"num_key_value_heads"`
	HeadDim           int      `json:"head_dim"`
	VocabSize         int      `json:"vocab_size"`
	MaxPositions      int      `json:"max_position_embeddings"`
	RMSNormEps        float64  `json:"rms_norm_eps"`
	RopeTheta         float64  `json:"rope_theta"`
	TieWordEmbeddings *bool    `json:"tie_word_embeddings"`
	RopeScaling       any      `json:"rope_scaling"`
	Architectures     []string `json:"architectures"`
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// LoadHF loads a Hugging Face directory: config.json, model.safetensors and
// tokenizer.json. HF checkpoints keep q/k in the rotate-half layout, so they run
// with NeoX RoPE pairing.
func LoadHF(dir string) (*Model, error) {
	cfg, err := readHFConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	st, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m, err := fromHF(dir, cfg, st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.Source, m.closer = dir, st
	return m, nil
}

func readHFConfig(dir string) (Config, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return Config{}, err
	}
	var h hfConfig
	if err := json.Unmarshal(raw, &h); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	c := Config{Arch: h.ModelType, Layers: h.NumLayers, Dim: h.HiddenSize, FFN: h.IntermediateSize,
		Heads: h.NumHeads, KVHeads: h.NumKVHeads, Vocab: h.VocabSize, Context: h.MaxPositions,
		NormEps: float32(h.RMSNormEps), RopeTheta: float32(h.RopeTheta), Rope: RopeNeoX}
	switch h.ModelType {
	case "llama", "qwen2":
	case "qwen3":
		c.QKNorm = true
	default:
		return c, fmt.Errorf("%w: model_type %q (supported: llama, qwen2, qwen3)", ErrUnsupported, h.ModelType)
	}
	if h.RopeScaling != nil {
		return c, fmt.Errorf("%w: rope_scaling %v", ErrUnsupported, h.RopeScaling)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.Heads > 0 {
		c.HeadDim = c.Dim / c.Heads
	}
	if h.HeadDim > 0 {
		c.HeadDim = h.HeadDim
	}
	c.RopeDim = c.HeadDim
	c.AttnScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	c.TiedOutput = h.TieWordEmbeddings == nil || *h.TieWordEmbeddings
	return c, nil
}

func fromHF(dir string, cfg Config, st *safetensors.File) (*Model, error) {
	tcfg, err := tokenizer.ConfigFromHF(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	tok, err := tokenizer.New(tcfg)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	m := &Model{Config: cfg, Tokenizer: tok}
	b := binder{lookup: hfTensor(st)}
	m.OutNorm = b.vector("model.norm.weight", true)
	// Tied checkpoints may store the shared matrix under either name
	// (safetensors drops one of two aliased tensors).
	embName := "model.embed_tokens.weight"
	if _, ok := st.Tensor(embName); !ok && cfg.TiedOutput {
		embName = "lm_head.weight"
	}
	m.TokEmbd = b.matrix(embName, true)
	m.Output = m.TokEmbd
	if !cfg.TiedOutput {
		m.Output = b.matrix("lm_head.weight", true)
	}
	m.Layers = b.layers(&cfg, &hfNames, func(i int) string { return fmt.Sprintf("model.layers.%d.", i) })
	if b.err != nil {
		return nil, b.err
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	m.FileType = dominantType(m)
	return m, nil
}

var hfTypes = map[string]tensor.DType{"F32": tensor.F32, "F16": tensor.F16, "BF16": tensor.BF16}

// hfTensor looks a tensor up in a safetensors file as a matrix (1-D tensors
// are one row).
func hfTensor(st *safetensors.File) func(name string) (Matrix, bool, error) {
	return func(name string) (Matrix, bool, error) {
		t, ok := st.Tensor(name)
		if !ok {
			return Matrix{}, false, nil
		}
		typ, ok := hfTypes[t.DType]
		if !ok {
			return Matrix{}, true, fmt.Errorf("tensor %q has unsupported dtype %s", name, t.DType)
		}
		switch len(t.Shape) {
		case 1:
			return Matrix{Type: typ, Rows: 1, Cols: t.Shape[0], Data: t.Data}, true, nil
		case 2:
			return Matrix{Type: typ, Rows: t.Shape[0], Cols: t.Shape[1], Data: t.Data}, true, nil
		}
		return Matrix{}, true, fmt.Errorf("tensor %q: expected a matrix, got shape %v", name, t.Shape)
	}
}
