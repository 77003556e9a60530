package model

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kvpack/kvpack/internal/gguf"
	"github.com/kvpack/kvpack/internal/tensor"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

// ErrUnsupported marks files kvpack understands but cannot run.
var ErrUnsupported = errors.New("unsupported model")

// Load opens a GGUF file or a Hugging Face model directory.
func Load(path string) (*Model, error) {
	if isDir(path) {
		return LoadHF(path)
	}
	return LoadGGUF(path)
}

// LoadGGUF memory-maps a GGUF file and binds its weights without copying them.
func LoadGGUF(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := fromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	m.Source, m.closer = path, f
	return m, nil
}

func fromGGUF(f *gguf.File) (*Model, error) {
	cfg, err := configFromGGUF(f)
	if err != nil {
		return nil, err
	}
	tcfg, err := tokenizerConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.New(tcfg)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if cfg.Vocab == 0 {
		cfg.Vocab = tok.VocabSize()
	}
	m := &Model{Config: cfg, Tokenizer: tok}
	if err := bindGGUF(f, m); err != nil {
		return nil, err
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	m.FileType = dominantType(m)
	return m, nil
}

func configFromGGUF(f *gguf.File) (Config, error) {
	arch, ok := f.String("general.architecture")
	if !ok {
		return Config{}, fmt.Errorf("missing general.architecture")
	}
	c := Config{Arch: arch}
	switch arch {
	case "llama":
		c.Rope = RopeInterleaved
	case "qwen2":
		c.Rope = RopeNeoX
	case "qwen3":
		c.Rope, c.QKNorm = RopeNeoX, true
	default:
		return c, fmt.Errorf("%w: architecture %q (supported: llama, qwen2, qwen3)", ErrUnsupported, arch)
	}
	r := metaReader{f: f, prefix: arch + "."}
	c.Layers = r.int("block_count", true, 0)
	c.Dim = r.int("embedding_length", true, 0)
	c.FFN = r.int("feed_forward_length", true, 0)
	c.Heads = r.int("attention.head_count", true, 0)
	c.KVHeads = r.int("attention.head_count_kv", false, c.Heads)
	c.Context = r.int("context_length", false, 2048)
	c.Vocab = r.int("vocab_size", false, 0)
	if c.Heads > 0 {
		c.HeadDim = r.int("attention.key_length", false, c.Dim/c.Heads)
	}
	if v := r.int("attention.value_length", false, c.HeadDim); v != c.HeadDim {
		return c, fmt.Errorf("%w: value length %d differs from key length %d", ErrUnsupported, v, c.HeadDim)
	}
	c.RopeDim = r.int("rope.dimension_count", false, c.HeadDim)
	c.RopeTheta = float32(r.float("rope.freq_base", 10000))
	c.NormEps = float32(r.float("attention.layer_norm_rms_epsilon", 1e-5))
	c.AttnScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	if s, ok := f.String(arch + ".rope.scaling.type"); ok && s != "none" {
		return c, fmt.Errorf("%w: rope scaling %q", ErrUnsupported, s)
	}
	if r.err != nil {
		return c, r.err
	}
	return c, nil
}

type metaReader struct {
	f      *gguf.File
	prefix string
	err    error
}

func (r *metaReader) int(key string, required bool, def int) int {
	v, ok := r.f.Uint(r.prefix + key)
	if !ok {
		if required && r.err == nil {
			r.err = fmt.Errorf("missing or invalid metadata %s%s", r.prefix, key)
		}
		return def
	}
	if v > 1<<31 {
		if r.err == nil {
			r.err = fmt.Errorf("metadata %s%s = %d is out of range", r.prefix, key, v)
		}
		return def
	}
	return int(v)
}

func (r *metaReader) float(key string, def float64) float64 {
	if v, ok := r.f.Float(r.prefix + key); ok {
		return v
	}
	return def
}

func tokenizerConfigFromGGUF(f *gguf.File) (tokenizer.Config, error) {
	var c tokenizer.Config
	var ok bool
	if c.Model, ok = f.String("tokenizer.ggml.model"); !ok {
		return c, fmt.Errorf("missing tokenizer.ggml.model")
	}
	c.Pre, _ = f.String("tokenizer.ggml.pre")
	if c.Tokens, ok = f.Strings("tokenizer.ggml.tokens"); !ok {
		return c, fmt.Errorf("missing tokenizer.ggml.tokens")
	}
	c.Scores, _ = f.Float32s("tokenizer.ggml.scores")
	c.Types, _ = f.Int32s("tokenizer.ggml.token_type")
	c.Merges, _ = f.Strings("tokenizer.ggml.merges")
	id := func(key string) int32 {
		if v, ok := f.Uint("tokenizer.ggml." + key); ok && v < uint64(len(c.Tokens)) {
			return int32(v)
		}
		return -1
	}
	c.BOS, c.EOS, c.UNK, c.PAD, c.EOT = id("bos_token_id"), id("eos_token_id"), id("unknown_token_id"), id("padding_token_id"), id("eot_token_id")
	c.AddBOS, c.HasAddBOS = f.Bool("tokenizer.ggml.add_bos_token")
	c.AddEOS, c.HasAddEOS = f.Bool("tokenizer.ggml.add_eos_token")
	c.AddSpacePrefix, c.HasAddSpacePrefix = f.Bool("tokenizer.ggml.add_space_prefix")
	c.ChatTemplate, _ = f.String("tokenizer.chat_template")
	return c, nil
}

// ggufTensor looks a tensor up in a GGUF file as a matrix (ggml's shape is
// [cols, rows, 1, ...]).
func ggufTensor(f *gguf.File) func(name string) (Matrix, bool, error) {
	return func(name string) (Matrix, bool, error) {
		ti, ok := f.Tensor(name)
		if !ok {
			return Matrix{}, false, nil
		}
		for _, d := range ti.Shape[min(2, len(ti.Shape)):] {
			if d != 1 {
				return Matrix{}, true, fmt.Errorf("tensor %q: expected a matrix, got shape %v", name, ti.Shape)
			}
		}
		rows := uint64(1)
		if len(ti.Shape) > 1 {
			rows = ti.Shape[1]
		}
		data, err := f.TensorData(name)
		if err != nil {
			return Matrix{}, true, err
		}
		return Matrix{Type: ti.Type, Rows: int(rows), Cols: int(ti.Shape[0]), Data: data}, true, nil
	}
}

func bindGGUF(f *gguf.File, m *Model) error {
	c := &m.Config
	b := binder{lookup: ggufTensor(f)}
	m.TokEmbd = b.matrix("token_embd.weight", true)
	m.OutNorm = b.vector("output_norm.weight", true)
	if _, ok := f.Tensor("output.weight"); ok {
		m.Output = b.matrix("output.weight", true)
	} else {
		m.Output, c.TiedOutput = m.TokEmbd, true
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		c.RopeFreqs = b.vector("rope_freqs.weight", true)
	}
	m.Layers = b.layers(c, &ggufNames, func(i int) string { return fmt.Sprintf("blk.%d.", i) })
	return b.err
}

// floatVector converts a small tensor (norm weights, biases) to float32; nil
// when the tensor is absent.
func floatVector(name string, w Matrix) ([]float32, error) {
	if w.Data == nil {
		return nil, nil
	}
	out := make([]float32, w.Rows*w.Cols)
	if err := tensor.DequantizeRow(w.Type, w.Data, out); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return out, nil
}

func dominantType(m *Model) string {
	counts := map[tensor.DType]int{}
	for i := range m.Layers {
		counts[m.Layers[i].Wq.Type] += len(m.Layers[i].Wq.Data)
		counts[m.Layers[i].Wgate.Type] += len(m.Layers[i].Wgate.Data)
	}
	best, n := tensor.F32, -1
	for t, c := range counts {
		if c > n {
			best, n = t, c
		}
	}
	return strings.ToUpper(best.String())
}
