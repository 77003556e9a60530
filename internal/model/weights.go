package model

import (
	"fmt"
	"io"

	"github.com/kvpack/kvpack/internal/tensor"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

// Matrix is a row-major weight matrix: Rows rows of Cols elements of Type. Data
// usually aliases a memory-mapped file.
type Matrix struct {
	Type       tensor.DType
	Rows, Cols int
	Data       []byte
}

// Row returns the bytes of row r.
func (m *Matrix) Row(r int) []byte {
	rb := m.Type.RowBytes(m.Cols)
	return m.Data[r*rb : (r+1)*rb]
}

// Layer holds one transformer block. Bias and norm vectors are nil when the
// architecture has none.
type Layer struct {
	AttnNorm     []float32 // [Dim]
	Wq, Wk, Wv   Matrix    // [Heads*HeadDim x Dim], [KVHeads*HeadDim x Dim] x2
	Bq, Bk, Bv   []float32 // qwen2 biases
	QNorm, KNorm []float32 // [HeadDim], qwen3
	Wo           Matrix    // [Dim x Heads*HeadDim]
	FFNNorm      []float32 // [Dim]
	Wgate, Wup   Matrix    // [FFN x Dim]
	Wdown        Matrix    // [Dim x FFN]
}

// Model is a loaded model: config, weights and tokenizer.
type Model struct {
	Config    Config
	TokEmbd   Matrix // [Vocab x Dim]
	OutNorm   []float32
	Output    Matrix // [Vocab x Dim]; aliases TokEmbd when tied
	Layers    []Layer
	Tokenizer *tokenizer.Tokenizer
	Source    string // file or directory it was loaded from
	FileType  string // dominant weight type, for display

	closer io.Closer
}

// Close releases the memory mapping behind the weights.
func (m *Model) Close() error {
	if m.closer == nil {
		return nil
	}
	err := m.closer.Close()
	m.closer = nil
	return err
}

// WeightBytes is the size of all matrices a decode step reads.
func (m *Model) WeightBytes() int64 {
	var n int64
	add := func(w *Matrix) { n += int64(len(w.Data)) }
	for i := range m.Layers {
		l := &m.Layers[i]
		for _, w := range []*Matrix{&l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.Wgate, &l.Wup, &l.Wdown} {
			add(w)
		}
	}
	add(&m.Output)
	return n
}

// checkMatrix verifies a matrix has the expected shape and a runnable type.
func checkMatrix(name string, w Matrix, rows, cols int) error {
	if !w.Type.WeightType() {
		return fmt.Errorf("tensor %q has unsupported type %v", name, w.Type)
	}
	if w.Rows != rows || w.Cols != cols {
		return fmt.Errorf("tensor %q has shape [%d x %d], want [%d x %d]", name, w.Rows, w.Cols, rows, cols)
	}
	if cols%w.Type.BlockSize() != 0 {
		return fmt.Errorf("tensor %q: row length %d is not a multiple of the %v block size %d", name, cols, w.Type, w.Type.BlockSize())
	}
	if len(w.Data) != rows*w.Type.RowBytes(cols) {
		return fmt.Errorf("tensor %q has %d bytes, want %d", name, len(w.Data), rows*w.Type.RowBytes(cols))
	}
	return nil
}

// validate checks every weight against the config.
func (m *Model) validate() error {
	c := &m.Config
	if err := c.validate(); err != nil {
		return err
	}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	if err := checkMatrix("token_embd.weight", m.TokEmbd, c.Vocab, c.Dim); err != nil {
		return err
	}
	if err := checkMatrix("output.weight", m.Output, c.Vocab, c.Dim); err != nil {
		return err
	}
	if err := checkVec("output_norm.weight", m.OutNorm, c.Dim); err != nil {
		return err
	}
	for i := range m.Layers {
		if err := m.validateLayer(i, q, kv); err != nil {
			return err
		}
	}
	return nil
}

func (m *Model) validateLayer(i, q, kv int) error {
	c, l := &m.Config, &m.Layers[i]
	p := fmt.Sprintf("blk.%d.", i)
	mats := []struct {
		name       string
		w          Matrix
		rows, cols int
	}{
		{"attn_q", l.Wq, q, c.Dim}, {"attn_k", l.Wk, kv, c.Dim}, {"attn_v", l.Wv, kv, c.Dim},
		{"attn_output", l.Wo, c.Dim, q}, {"ffn_gate", l.Wgate, c.FFN, c.Dim},
		{"ffn_up", l.Wup, c.FFN, c.Dim}, {"ffn_down", l.Wdown, c.Dim, c.FFN},
	}
	for _, mt := range mats {
		if err := checkMatrix(p+mt.name+".weight", mt.w, mt.rows, mt.cols); err != nil {
			return err
		}
	}
	vecs := []struct {
		name     string
		v        []float32
		n        int
		optional bool
	}{
		{"attn_norm.weight", l.AttnNorm, c.Dim, false}, {"ffn_norm.weight", l.FFNNorm, c.Dim, false},
		{"attn_q.bias", l.Bq, q, true}, {"attn_k.bias", l.Bk, kv, true}, {"attn_v.bias", l.Bv, kv, true},
		{"attn_q_norm.weight", l.QNorm, c.HeadDim, !c.QKNorm}, {"attn_k_norm.weight", l.KNorm, c.HeadDim, !c.QKNorm},
	}
	for _, v := range vecs {
		if v.v == nil && v.optional {
			continue
		}
		if err := checkVec(p+v.name, v.v, v.n); err != nil {
			return err
		}
	}
	return nil
}

func checkVec(name string, v []float32, n int) error {
	if v == nil {
		return fmt.Errorf("missing tensor %q", name)
	}
	if len(v) != n {
		return fmt.Errorf("tensor %q has %d elements, want %d", name, len(v), n)
	}
	return nil
}
