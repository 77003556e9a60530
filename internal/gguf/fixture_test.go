package gguf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kvpack/kvpack/internal/tensor"
)

// fixturePath finds a shared test model relative to the package directory
// (/work/main/internal/gguf -> /work/shared/data/models).
func fixturePath(t *testing.T, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(wd, "..", "..", "..", "shared", "data", "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("FIXTURE MISSING, SKIPPING: %s (%v)", p, err)
	}
	return p
}

// TestStories260K checks the reader against the real llama2.c stories260K
// conversion (v3, 48 F32 tensors, SentencePiece vocabulary of 512).
func TestStories260K(t *testing.T) {
	f, err := Open(fixturePath(t, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checks := []struct {
		key  string
		want uint64
	}{
		{"llama.block_count", 5}, {"llama.context_length", 2048}, {"llama.embedding_length", 64},
		{"llama.feed_forward_length", 172}, {"llama.attention.head_count", 8},
		{"llama.attention.head_count_kv", 4}, {"llama.rope.dimension_count", 8},
		{"tokenizer.ggml.bos_token_id", 1}, {"tokenizer.ggml.eos_token_id", 2},
	}
	for _, c := range checks {
		if got, ok := f.Uint(c.key); !ok || got != c.want {
			t.Errorf("%s = %d (%v), want %d", c.key, got, ok, c.want)
		}
	}
	if arch, _ := f.String("general.architecture"); arch != "llama" {
		t.Errorf("architecture %q", arch)
	}
	if eps, _ := f.Float("llama.attention.layer_norm_rms_epsilon"); float32(eps) != 1e-5 {
		t.Errorf("rms eps %g", eps)
	}
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	scores, _ := f.Float32s("tokenizer.ggml.scores")
	types, _ := f.Int32s("tokenizer.ggml.token_type")
	if len(toks) != 512 || len(scores) != 512 || len(types) != 512 || toks[1] != "<s>" {
		t.Errorf("vocabulary: %d tokens, %d scores, %d types", len(toks), len(scores), len(types))
	}
	checkStoriesTensors(t, f)
}

func checkStoriesTensors(t *testing.T, f *File) {
	t.Helper()
	if f.Version() != 3 || f.Alignment() != 32 || len(f.Tensors()) != 48 {
		t.Errorf("version %d alignment %d tensors %d", f.Version(), f.Alignment(), len(f.Tensors()))
	}
	want := map[string][]uint64{
		"token_embd.weight": {64, 512}, "output.weight": {64, 512}, "output_norm.weight": {64},
		"blk.0.attn_q.weight": {64, 64}, "blk.0.attn_k.weight": {64, 32}, "blk.4.ffn_down.weight": {172, 64},
		"blk.4.ffn_up.weight": {64, 172},
	}
	for name, shape := range want {
		ti, ok := f.Tensor(name)
		if !ok || ti.Type != tensor.F32 || len(ti.Shape) != len(shape) {
			t.Errorf("%s: %+v %v", name, ti, ok)
			continue
		}
		for i := range shape {
			if ti.Shape[i] != shape[i] {
				t.Errorf("%s: shape %v, want %v", name, ti.Shape, shape)
			}
		}
	}
	var total uint64
	for _, ti := range f.Tensors() {
		d, err := f.TensorData(ti.Name)
		if err != nil || uint64(len(d)) != ti.Size || ti.Size != 4*ti.Elements() {
			t.Errorf("%s: %d bytes for %v (%v)", ti.Name, len(d), ti.Shape, err)
		}
		total += ti.Size
	}
	if f.DataOffset()+total != uint64(f.Size()) {
		t.Errorf("data offset %d + %d bytes != file size %d", f.DataOffset(), total, f.Size())
	}
}
