package model

import "fmt"

// tensorNames are one format's names of a layer's tensors (prefix excluded).
type tensorNames struct {
	attnNorm, q, k, v, o string
	bq, bk, bv           string // optional biases (qwen2)
	qNorm, kNorm         string // qwen3
	ffnNorm              string
	gate, up, down       string
}

var ggufNames = tensorNames{
	attnNorm: "attn_norm.weight", q: "attn_q.weight", k: "attn_k.weight", v: "attn_v.weight", o: "attn_output.weight",
	bq: "attn_q.bias", bk: "attn_k.bias", bv: "attn_v.bias",
	qNorm: "attn_q_norm.weight", kNorm: "attn_k_norm.weight",
	ffnNorm: "ffn_norm.weight", gate: "ffn_gate.weight", up: "ffn_up.weight", down: "ffn_down.weight",
}

var hfNames = tensorNames{
	attnNorm: "input_layernorm.weight", q: "self_attn.q_proj.weight", k: "self_attn.k_proj.weight",
	v: "self_attn.v_proj.weight", o: "self_attn.o_proj.weight",
	bq: "self_attn.q_proj.bias", bk: "self_attn.k_proj.bias", bv: "self_attn.v_proj.bias",
	qNorm: "self_attn.q_norm.weight", kNorm: "self_attn.k_norm.weight",
	ffnNorm: "post_attention_layernorm.weight", gate: "mlp.gate_proj.weight", up: "mlp.up_proj.weight",
	down: "mlp.down_proj.weight",
}

// binder binds named tensors of one file to Matrix values, keeping the first
// error so a loader can bind everything and check once.
type binder struct {
	// lookup returns the tensor called name; ok is false when it is absent.
	lookup func(name string) (w Matrix, ok bool, err error)
	err    error
}

func (b *binder) matrix(name string, required bool) Matrix {
	if b.err != nil {
		return Matrix{}
	}
	w, ok, err := b.lookup(name)
	switch {
	case err != nil:
		b.err = err
	case !ok && required:
		b.err = fmt.Errorf("missing tensor %q", name)
	}
	if b.err != nil || !ok {
		return Matrix{}
	}
	return w
}

// vector returns a small tensor (norm weights, biases) converted to float32.
func (b *binder) vector(name string, required bool) []float32 {
	w := b.matrix(name, required)
	if b.err != nil {
		return nil
	}
	var out []float32
	out, b.err = floatVector(name, w)
	return out
}

// layers binds every layer's tensors, named prefix(i) + one of n's names.
func (b *binder) layers(c *Config, n *tensorNames, prefix func(i int) string) []Layer {
	ls := make([]Layer, c.Layers)
	for i := range ls {
		l, p := &ls[i], prefix(i)
		l.AttnNorm = b.vector(p+n.attnNorm, true)
		l.Wq, l.Wk, l.Wv = b.matrix(p+n.q, true), b.matrix(p+n.k, true), b.matrix(p+n.v, true)
		l.Wo = b.matrix(p+n.o, true)
		l.Bq, l.Bk, l.Bv = b.vector(p+n.bq, false), b.vector(p+n.bk, false), b.vector(p+n.bv, false)
		if c.QKNorm {
			l.QNorm, l.KNorm = b.vector(p+n.qNorm, true), b.vector(p+n.kNorm, true)
		}
		l.FFNNorm = b.vector(p+n.ffnNorm, true)
		l.Wgate, l.Wup, l.Wdown = b.matrix(p+n.gate, true), b.matrix(p+n.up, true), b.matrix(p+n.down, true)
	}
	return ls
}
