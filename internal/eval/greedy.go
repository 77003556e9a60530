package eval

// Greedy continues every lane from its logits (one row per lane, as
// returned by Prefill) for up to n tokens each, argmax decoding, all lanes
// in one forward per step. A lane stops after a token for which stop
// returns true (nil: never).
func (s *Set) Greedy(logits [][]float32, n int, stop func(int32) bool) ([][]int32, error) {
	out := make([][]int32, len(s.Lanes))
	done := make([]bool, len(s.Lanes))
	in := make([][]int32, len(s.Lanes))
	for step := 0; step < n; step++ {
		active := false
		for i := range s.Lanes {
			in[i] = nil
			if done[i] || logits[i] == nil {
				continue
			}
			t := Argmax(logits[i])
			out[i] = append(out[i], t)
			if len(out[i]) >= n || (stop != nil && stop(t)) {
				done[i] = true
				continue
			}
			in[i], active = []int32{t}, true
		}
		if !active {
			break
		}
		var err error
		if logits, err = s.Step(in); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FirstDivergence is the index of the first token where a and b differ
// (min(len) when one is a prefix of the other).
func FirstDivergence(a, b []int32) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
