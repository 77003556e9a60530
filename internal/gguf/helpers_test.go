package gguf

import (
	"math/rand/v2"
	"testing"

	"github.com/kvpack/kvpack/internal/tensor"
)

// knownTypes lists every tensor type with a known block layout.
func knownTypes() []tensor.DType {
	var out []tensor.DType
	for id := range 64 {
		if t := tensor.DType(id); t.Known() {
			out = append(out, t)
		}
	}
	return out
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// addRandomTensor adds a tensor of the given type and shape with random data.
func addRandomTensor(t testing.TB, w *Writer, name string, typ tensor.DType, shape ...uint64) []byte {
	t.Helper()
	size, err := tensorSize(typ, shape)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(uint64(len(name))*31+uint64(typ), size)
	if err := w.AddTensor(name, typ, shape, data); err != nil {
		t.Fatal(err)
	}
	return data
}

// sampleWriter builds a small llama-like file with a bit of every kind of
// metadata and a few tensors.
func sampleWriter(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("llama.block_count", uint32(2))
	w.Set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	w.Set("tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>", "a", "b", "ab"})
	w.Set("tokenizer.ggml.scores", []float32{0, 0, 0, -1, -2, -3})
	w.Set("tokenizer.ggml.token_type", []int32{2, 3, 3, 1, 1, 1})
	w.Set("general.nested", []any{[]uint8{1, 2}, []string{"x"}, []any{[]bool{true}}})
	addRandomTensor(t, w, "token_embd.weight", tensor.F32, 8, 6)
	addRandomTensor(t, w, "blk.0.attn_q.weight", tensor.Q4_0, 32, 8)
	addRandomTensor(t, w, "output_norm.weight", tensor.F16, 8)
	return w
}

func mustBytes(t testing.TB, w *Writer) []byte {
	t.Helper()
	b, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawFile encodes a GGUF header with the given counts followed by body.
func rawFile(version uint32, tensors, kvs uint64, body ...[]byte) []byte {
	b := append([]byte(magic), 0, 0, 0, 0)
	le.PutUint32(b[4:], version)
	b = le.AppendUint64(b, tensors)
	b = le.AppendUint64(b, kvs)
	for _, p := range body {
		b = append(b, p...)
	}
	return b
}

// kv encodes one metadata pair with an explicit type id and payload.
func kv(key string, typ valueType, payload []byte) []byte {
	b := appendScalar(nil, key)
	b = le.AppendUint32(b, uint32(typ))
	return append(b, payload...)
}

// tinfo encodes one tensor index entry.
func tinfo(name string, typ uint32, offset uint64, shape ...uint64) []byte {
	b := appendScalar(nil, name)
	b = le.AppendUint32(b, uint32(len(shape)))
	for _, d := range shape {
		b = le.AppendUint64(b, d)
	}
	b = le.AppendUint32(b, typ)
	return le.AppendUint64(b, offset)
}

// padTo appends zeros up to a multiple of align, then n more bytes of data.
func padTo(b []byte, align int, n int) []byte {
	for len(b)%align != 0 {
		b = append(b, 0)
	}
	return append(b, make([]byte, n)...)
}
