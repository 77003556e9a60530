package model_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/kvpack/kvpack/internal/gguf"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/safetensors"
	"github.com/kvpack/kvpack/internal/tensor"
)

const hfFixture = "../shared/data/models/tinystories-656k"

// TestHFDirectoryLoads checks the Hugging Face loader on the fixture: config,
// tied embeddings stored as lm_head, NeoX RoPE, and a forward pass.
func TestHFDirectoryLoads(t *testing.T) {
	m, err := model.Load(oracle.RequireModel(t, hfFixture))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config
	if c.Arch != "llama" || c.Layers != 2 || c.Dim != 128 || c.Heads != 8 || c.KVHeads != 4 || c.HeadDim != 16 ||
		c.Vocab != 2048 || c.Rope != model.RopeNeoX || !c.TiedOutput {
		t.Fatalf("config %+v", c)
	}
}

// TestHFMatchesLlamaCpp converts the HF fixture to GGUF the way llama.cpp's
// converter does (q/k rows permuted for interleaved RoPE), runs llama.cpp on it,
// and checks kvpack's HF path (NeoX RoPE on the original rows) against it.
func TestHFMatchesLlamaCpp(t *testing.T) {
	skipShort(t)
	oracle.RequireOrSkip(t)
	dir := oracle.RequireModel(t, hfFixture)
	path := filepath.Join(t.TempDir(), "tinystories-656k.gguf")
	if err := hfToGGUF(dir, path); err != nil {
		t.Fatal(err)
	}
	oc := oracleCase{name: "hf", kvType: "F32", maxLogp: 1e-3, idsOnly: true, prompts: []string{"Once upon a time, there was a"}}
	oc.checkWith(t, dir, path)
}

func hfToGGUF(dir, out string) error {
	m, err := model.Load(dir)
	if err != nil {
		return err
	}
	defer m.Close()
	st, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return err
	}
	defer st.Close()
	c, w := m.Config, gguf.NewWriter()
	w.Set("general.architecture", "llama")
	for k, v := range map[string]uint32{"block_count": uint32(c.Layers), "context_length": uint32(c.Context),
		"embedding_length": uint32(c.Dim), "feed_forward_length": uint32(c.FFN), "attention.head_count": uint32(c.Heads),
		"attention.head_count_kv": uint32(c.KVHeads), "rope.dimension_count": uint32(c.HeadDim)} {
		w.Set("llama."+k, v)
	}
	w.Set("llama.rope.freq_base", c.RopeTheta)
	w.Set("llama.attention.layer_norm_rms_epsilon", c.NormEps)
	toks, scores, types := make([]string, c.Vocab), make([]float32, c.Vocab), make([]int32, c.Vocab)
	for i := range toks {
		toks[i], scores[i], types[i] = m.Tokenizer.Token(int32(i)), -float32(i), 1
	}
	types[0], types[m.Tokenizer.BOS()], types[m.Tokenizer.EOS()] = 2, 3, 3
	w.Set("tokenizer.ggml.add_bos_token", true)
	w.Set("tokenizer.ggml.model", "llama")
	w.Set("tokenizer.ggml.tokens", toks)
	w.Set("tokenizer.ggml.scores", scores)
	w.Set("tokenizer.ggml.token_type", types)
	w.Set("tokenizer.ggml.bos_token_id", uint32(m.Tokenizer.BOS()))
	w.Set("tokenizer.ggml.eos_token_id", uint32(m.Tokenizer.EOS()))
	add := func(name, src string, permuteHeads int) error {
		tt, ok := st.Tensor(src)
		if !ok {
			return fmt.Errorf("missing %s", src)
		}
		f, err := tt.Float32s()
		if err != nil {
			return err
		}
		if permuteHeads > 0 {
			f = permuteRope(f, permuteHeads, tt.Shape[0]/permuteHeads, tt.Shape[1])
		}
		shape := []uint64{uint64(tt.Shape[len(tt.Shape)-1])}
		if len(tt.Shape) == 2 {
			shape = append(shape, uint64(tt.Shape[0]))
		}
		data := make([]byte, 4*len(f))
		for i, v := range f {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		return w.AddTensor(name, tensor.F32, shape, data)
	}
	names := [][3]any{{"token_embd.weight", "lm_head.weight", 0}, {"output_norm.weight", "model.norm.weight", 0}}
	for l := 0; l < c.Layers; l++ {
		p, h := fmt.Sprintf("blk.%d.", l), fmt.Sprintf("model.layers.%d.", l)
		names = append(names, [][3]any{{p + "attn_norm.weight", h + "input_layernorm.weight", 0},
			{p + "attn_q.weight", h + "self_attn.q_proj.weight", c.Heads}, {p + "attn_k.weight", h + "self_attn.k_proj.weight", c.KVHeads},
			{p + "attn_v.weight", h + "self_attn.v_proj.weight", 0}, {p + "attn_output.weight", h + "self_attn.o_proj.weight", 0},
			{p + "ffn_norm.weight", h + "post_attention_layernorm.weight", 0}, {p + "ffn_gate.weight", h + "mlp.gate_proj.weight", 0},
			{p + "ffn_up.weight", h + "mlp.up_proj.weight", 0}, {p + "ffn_down.weight", h + "mlp.down_proj.weight", 0}}...)
	}
	for _, n := range names {
		if err := add(n[0].(string), n[1].(string), n[2].(int)); err != nil {
			return err
		}
	}
	return w.WriteFile(out)
}

// permuteRope reorders each head's rows from rotate-half to interleaved pairing:
// new row 2i+j of a head is old row j*hd/2+i.
func permuteRope(f []float32, heads, hd, cols int) []float32 {
	out := make([]float32, len(f))
	for h := 0; h < heads; h++ {
		for i := 0; i < hd/2; i++ {
			for j := 0; j < 2; j++ {
				copy(out[(h*hd+2*i+j)*cols:][:cols], f[(h*hd+j*hd/2+i)*cols:][:cols])
			}
		}
	}
	return out
}
