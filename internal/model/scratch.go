package model

// scratch holds the per-token activations of one forward pass, grown on demand
// and reused across calls.
type scratch struct {
	T, nLogits int
	x, xn      []float32 // [T][Dim] residual stream and normalized/projection output
	q, att     []float32 // [T][Heads*HeadDim]
	k, v       []float32 // [T][KVHeads*HeadDim]
	gate, up   []float32 // [T][FFN]
	last       []float32 // [nLogits][Dim]
	logits     []float32 // [nLogits][Vocab]
}

func (s *scratch) ensure(c *Config, T, nLogits int) *scratch {
	if T > s.T {
		qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
		s.T = T
		s.x, s.xn = make([]float32, T*c.Dim), make([]float32, T*c.Dim)
		s.q, s.att = make([]float32, T*qd), make([]float32, T*qd)
		s.k, s.v = make([]float32, T*kvd), make([]float32, T*kvd)
		s.gate, s.up = make([]float32, T*c.FFN), make([]float32, T*c.FFN)
	}
	if nLogits > s.nLogits {
		s.nLogits = nLogits
		s.last, s.logits = make([]float32, nLogits*c.Dim), make([]float32, nLogits*c.Vocab)
	}
	return s
}
