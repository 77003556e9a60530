package eval

import (
	"fmt"
	"time"
)

// build lays out the batch: each lane's tokens at its next positions.
func (s *Set) build(in [][]int32) error {
	b := &s.batch
	b.Tokens, b.Pos, b.Logits = b.Tokens[:0], b.Pos[:0], b.Logits[:0]
	s.spans, s.spanLane = s.spans[:0], s.spanLane[:0]
	for i, toks := range in {
		if len(toks) == 0 {
			continue
		}
		l := s.Lanes[i]
		if err := l.Seq.Reserve(len(toks)); err != nil {
			return fmt.Errorf("eval: %s: %w", l.Spec.Name(), err)
		}
		start, next := len(b.Tokens), int32(l.Seq.Len())
		for j, t := range toks {
			b.Tokens = append(b.Tokens, t)
			b.Pos = append(b.Pos, next+int32(j))
		}
		s.spans = append(s.spans, spanOf(l, start, len(b.Tokens)))
		s.spanLane = append(s.spanLane, i)
		b.Logits = append(b.Logits, len(b.Tokens)-1)
	}
	b.Spans = s.spans
	return nil
}

// split cuts the forward's logits into per-lane rows.
func (s *Set) split(logits []float32) ([][]float32, error) {
	out := make([][]float32, len(s.Lanes))
	v := s.R.M.Config.Vocab
	for k, i := range s.spanLane {
		if err := s.Lanes[i].Seq.Err(); err != nil {
			return nil, fmt.Errorf("eval: %s attend: %w", s.Lanes[i].Spec.Name(), err)
		}
		out[i] = logits[k*v : (k+1)*v]
	}
	return out, nil
}

// afterStep runs each stepped lane's compression round when due.
func (s *Set) afterStep(in [][]int32) error {
	for i, l := range s.Lanes {
		if len(in[i]) == 0 {
			continue
		}
		if s.BeforeRound != nil && l.Comp.Due() {
			s.BeforeRound(l)
		}
		t0 := time.Now()
		if _, err := l.Comp.AfterStep(); err != nil {
			return fmt.Errorf("eval: %s: %w", l.Spec.Name(), err)
		}
		l.Busy += time.Since(t0)
		l.Round = l.Comp.Totals()
	}
	return nil
}

// Same returns n copies of toks, one per lane.
func (s *Set) Same(toks []int32) [][]int32 {
	in := make([][]int32, len(s.Lanes))
	for i := range in {
		in[i] = toks
	}
	return in
}

// Prefill feeds the same tokens to every lane in chunks (compression runs
// between chunks) and returns the logits after the last token. The returned
// rows are copies.
func (s *Set) Prefill(toks []int32, chunk int) ([][]float32, error) {
	var last [][]float32
	for i := 0; i < len(toks); i += chunk {
		out, err := s.Step(s.Same(toks[i:min(i+chunk, len(toks))]))
		if err != nil {
			return nil, err
		}
		last = out
	}
	return copyRows(last), nil
}

func copyRows(rows [][]float32) [][]float32 {
	out := make([][]float32, len(rows))
	for i, r := range rows {
		out[i] = append([]float32(nil), r...)
	}
	return out
}
