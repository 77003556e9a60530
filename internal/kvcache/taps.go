package kvcache

// Score taps: per-slot attention mass as a by-product of Attend, without
// materializing the score matrix.
//
// Method (second pass with stored softmax statistics): the main pass records,
// for every (query t, query head h), the final running max m and sum l of its
// online softmax. A second pass then walks the layer's tables block by block
// and, for each slot j, recomputes s = Scale*q·k_j for every query of the call
// that may see j, and adds p = exp(s - m)·(1/l) — the normalized probability
// — to mass[j]. The dot product and exp are the same functions as the main
// pass, so p matches the probability the main pass used. Work units are
// (kv-head, block), so each slot is owned by one worker: no atomics, and the
// summation order is fixed (deterministic). The cost is one more q·k per
// (slot, query head) and one exp, but no V traffic: see BenchmarkAttendDecode.
//
// Storing per-block raw scores instead cannot work for a sum over queries: each
// block's scores are relative to the max known at that time, and the rescale
// factor differs per query, so it would need every query's full score row.

// EnableTaps turns cumulative attention-mass taps on or off. Turning them on
// starts every slot's mass at 0; turning them off drops the arrays.
func (s *Sequence) EnableTaps(on bool) {
	s.tapMass = on
	for i := range s.tables {
		t := &s.tables[i]
		if on {
			t.mass = growZero(t.mass[:0], t.capacity())
		} else {
			t.mass = nil
		}
	}
}

// EnableLastAttention turns on or off recording, per table, the attention
// probabilities of the last query of each Attend call (TOVA).
func (s *Sequence) EnableLastAttention(on bool) {
	s.tapLast = on
	for i := range s.tables {
		t := &s.tables[i]
		if on {
			t.last = growZero(t.last[:0], t.capacity())
		} else {
			t.last = nil
		}
	}
}

// TapsEnabled reports whether mass and last-query taps are on.
func (s *Sequence) TapsEnabled() (mass, last bool) { return s.tapMass, s.tapLast }

// ResetTaps sets every slot's cumulative mass to 0.
func (s *Sequence) ResetTaps() {
	for i := range s.tables {
		clear(s.tables[i].mass)
	}
}

// LastAttention returns, for table (layer, kvHead), the probability of each
// slot ([Len()]) under the last query of the latest Attend of that layer,
// averaged over the group's query heads (0 for slots that query cannot see).
// It is nil when last-query taps are off or the table does not exist. The
// slice is the table's own: read only, valid until the next call that changes
// the table.
func (s *Sequence) LastAttention(layer, kvHead int) []float32 {
	t := s.Table(layer, kvHead)
	if t == nil || t.last == nil {
		return nil
	}
	return t.last[:t.n]
}

// prepareTaps computes the (kv-head, block) unit offsets of the tap pass and
// returns the number of units.
func (a *attendState) prepareTaps() int {
	s, kvh := a.s, a.s.shape.KVHeads
	n := 0
	for g := range kvh {
		a.tapOff[g] = n
		n += ceilDiv(s.tables[a.layer*kvh+g].n, s.pool.bs)
	}
	a.tapOff[kvh] = n
	return n
}

// tapBody runs workers [lo, hi) of the tap pass.
func (a *attendState) tapBody(lo, hi int) {
	for w := lo; w < hi; w++ {
		g := 0
		for u := w * a.units / a.nw; u < (w+1)*a.units/a.nw; u++ {
			for u >= a.tapOff[g+1] {
				g++
			}
			a.tapUnit(&a.work[w], g, u-a.tapOff[g])
		}
	}
}

// tapUnit accumulates the probabilities of every slot of block b of table
// (layer, g) over all queries of the call and the group's heads. Per slot the
// sum runs over queries, then heads, in order (deterministic).
func (a *attendState) tapUnit(w *workerScratch, g, b int) {
	s, sh := a.s, a.s.shape
	hd, G, bs := sh.HeadDim, sh.GroupSize(), s.pool.bs
	tab := &s.tables[a.layer*sh.KVHeads+g]
	n := min(bs, tab.n-b*bs)
	bv := a.view(w, tab.blocks[b], n, false)
	kp := bv.pos
	T, last := len(a.pos), len(a.pos)-1
	mass, lastP, sc := w.tmass[:n], w.tlast[:n], w.sc[:n]
	clear(mass)
	clear(lastP)
	for t := range T {
		if !anyVisible(kp, a.pos[t]) {
			continue
		}
		for i := range G {
			h := t*sh.Heads + g*G + i
			if a.tinv[h] == 0 {
				continue
			}
			a.scores(a.q[h*hd:(h+1)*hd], &bv, sc)
			a.expBlock(sc, a.tm[h])
			for j := range n {
				if kp[j] > a.pos[t] {
					continue
				}
				pr := sc[j] * a.tinv[h]
				mass[j] += pr
				if t == last {
					lastP[j] += pr
				}
			}
		}
	}
	for j := range n {
		slot := b*bs + j
		if tab.mass != nil {
			tab.mass[slot] += mass[j]
		}
		if tab.last != nil {
			tab.last[slot] = lastP[j] / float32(G)
		}
	}
}
