package compress

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Guards are the tokens a round always keeps in a table (Config's budget rule).
type Guards struct {
	Sinks     int // the Sinks lowest positions
	Window    int // the Window highest positions
	PromptLen int // when > 0: positions < PromptLen, if they fit in the budget with the others
}

// Selector turns one table's scores into a keep-set. It owns scratch reused
// across calls, so it is not safe for concurrent use.
//
// Order of choice: guards first, then the best scores. Ties (equal scores,
// NaN counting as -Inf) go to the newer token (higher position), then to the
// lower slot; recency is the safe default when a policy has no opinion (e.g.
// H2O's zero mass for tokens no query has read yet).
type Selector struct {
	order []int // slots in ascending position
	guard []bool
	cand  []int
}

// Select appends to dst the slots to keep of a table with positions pos ([n],
// any slot order) and scores ([n]), for a budget of tokens, and returns dst
// with the new slots in ascending order. When n <= budget every slot is kept.
func (s *Selector) Select(dst []int, pos []int32, scores []float32, budget int, g Guards) ([]int, error) {
	n := len(pos)
	if len(scores) != n {
		return dst, fmt.Errorf("compress: select: %d scores for %d slots", len(scores), n)
	}
	if budget < 1 || g.Sinks < 0 || g.Window < 0 || g.Sinks+g.Window > budget {
		return dst, fmt.Errorf("compress: select: budget %d with %d sinks and window %d", budget, g.Sinks, g.Window)
	}
	start := len(dst)
	if n <= budget {
		for i := range n {
			dst = append(dst, i)
		}
		return dst, nil
	}
	guarded := s.markGuards(pos, g, budget)
	s.cand = s.cand[:0]
	for i := range n {
		if s.guard[i] {
			dst = append(dst, i)
		} else {
			s.cand = append(s.cand, i)
		}
	}
	slices.SortFunc(s.cand, func(a, b int) int {
		if c := cmp.Compare(key(scores[b]), key(scores[a])); c != 0 {
			return c
		}
		if c := cmp.Compare(pos[b], pos[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	dst = append(dst, s.cand[:budget-guarded]...)
	slices.Sort(dst[start:])
	return dst, nil
}

// key maps NaN to -Inf so every score is ordered.
func key(x float32) float32 {
	if x != x {
		return float32(math.Inf(-1))
	}
	return x
}

// markGuards sets s.guard for the sinks, the recent window and (if it fits)
// the prompt, and returns the number of guarded slots (<= budget).
func (s *Selector) markGuards(pos []int32, g Guards, budget int) int {
	n := len(pos)
	s.guard = slices.Grow(s.guard[:0], n)[:n]
	clear(s.guard)
	s.order = s.order[:0]
	for i := range n {
		s.order = append(s.order, i)
	}
	if !slices.IsSortedFunc(s.order, func(a, b int) int { return cmp.Compare(pos[a], pos[b]) }) {
		slices.SortStableFunc(s.order, func(a, b int) int { return cmp.Compare(pos[a], pos[b]) })
	}
	for _, i := range s.order[:g.Sinks] {
		s.guard[i] = true
	}
	for _, i := range s.order[n-g.Window:] {
		s.guard[i] = true
	}
	guarded := g.Sinks + g.Window // disjoint: n > budget >= Sinks+Window
	if g.PromptLen <= 0 {
		return guarded
	}
	extra := 0
	for i, p := range pos {
		if !s.guard[i] && int64(p) < int64(g.PromptLen) {
			extra++
		}
	}
	if guarded+extra > budget {
		return guarded // the prompt does not fit: it competes by score
	}
	for i, p := range pos {
		if int64(p) < int64(g.PromptLen) {
			s.guard[i] = true
		}
	}
	return guarded + extra
}
