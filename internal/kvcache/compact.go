package kvcache

import "fmt"

// Compaction of one table after an eviction decision: survivors are moved so
// the table is dense in slots [0, kept), then whole tail blocks go back to the
// pool. Positions and tap values travel with their slots, so attention over
// the table equals attention over the kept set.
//
// Both modes are one in-place pass. Survivors that move ("movers") are taken
// in ascending source slot and written to the "holes" (slots of [0, kept) not
// held by a survivor that stays) in ascending order. The i-th hole is never
// above the i-th mover's source, because at least i+1 non-staying slots lie at
// or below that source. So a write never lands on a staying survivor (holes
// exclude them) nor on a mover not yet read (later movers lie above it):
// overlapping ranges are safe without first gathering survivors into scratch.

// CompactStats reports one compaction.
type CompactStats struct {
	Evicted     int   // tokens removed from the table
	BlocksFreed int   // blocks returned to the pool
	BytesFreed  int64 // BlocksFreed * block bytes
	Copies      int   // slots copied (K, V, position, taps)
}

// Add accumulates o into c.
func (c *CompactStats) Add(o CompactStats) {
	c.Evicted += o.Evicted
	c.BlocksFreed += o.BlocksFreed
	c.BytesFreed += o.BytesFreed
	c.Copies += o.Copies
}

// compactScratch is reused across compactions of a sequence's tables.
type compactScratch struct {
	mark  []bool  // [Len] slot survives
	moves []int32 // pairs (dst, src)
}

// CompactRepack keeps the slots listed in keep (any order, no duplicates,
// each in [0, Len())): survivors slide forward in their original slot order,
// so the table stays in token order. Afterwards the table holds exactly
// ceil((kept + Pending())/bs) blocks; the rest are freed (last first).
func (t *Table) CompactRepack(keep []int) (CompactStats, error) {
	return t.compact(keep, 0)
}

// CompactHoleFill keeps the slots listed in keep with fewer copies: survivors
// below newestStart (the history, already compacted before) stay in place,
// and survivors at or above it (the newest round) move into the holes, lowest
// free slot first, in source order. A history survivor beyond the new length
// kept must move too (the table ends dense in [0, kept)). Slot order is
// scrambled, so readers must use stored positions. Block accounting as in
// CompactRepack.
func (t *Table) CompactHoleFill(keep []int, newestStart int) (CompactStats, error) {
	if newestStart < 0 || newestStart > t.n {
		return CompactStats{}, fmt.Errorf("kvcache: hole-fill: newest start %d outside 0..%d", newestStart, t.n)
	}
	return t.compact(keep, newestStart)
}

// compact keeps the survivors below min(stay, kept) in place and moves all
// other survivors into the holes of [0, kept).
func (t *Table) compact(keep []int, stay int) (CompactStats, error) {
	c := &t.seq.cmp
	kept, err := t.markKeep(keep, c)
	if err != nil {
		return CompactStats{}, err
	}
	stay = min(stay, kept)
	first := t.planMoves(c, kept, stay)
	p, bs := t.seq.pool, t.seq.pool.bs
	keepBlocks := ceilDiv(kept+t.pending, bs)
	for b := min(first/bs, keepBlocks); b < len(t.blocks); b++ {
		if p.Ref(t.blocks[b]) > 1 {
			return CompactStats{}, fmt.Errorf("kvcache: compact: block %d (table block %d): %w", t.blocks[b], b, ErrShared)
		}
	}
	st := CompactStats{Evicted: t.n - kept}
	for i := 0; i < len(c.moves); i += 2 {
		d, s := int(c.moves[i]), int(c.moves[i+1])
		if d == s {
			continue
		}
		p.copySlot(t.blocks[d/bs], d%bs, t.blocks[s/bs], s%bs)
		if t.mass != nil {
			t.mass[d] = t.mass[s]
		}
		if t.last != nil {
			t.last[d] = t.last[s]
		}
		st.Copies++
	}
	for b := len(t.blocks) - 1; b >= keepBlocks; b-- {
		_ = p.Free(t.blocks[b]) // held by this table, hence live
		st.BlocksFreed++
	}
	t.blocks = t.blocks[:keepBlocks]
	t.n = kept
	st.BytesFreed = int64(st.BlocksFreed) * p.BlockBytes()
	return st, nil
}

// markKeep validates keep and marks survivors in c.mark[:Len]; it returns their count.
func (t *Table) markKeep(keep []int, c *compactScratch) (int, error) {
	if cap(c.mark) < t.n {
		c.mark = make([]bool, t.n)
	}
	c.mark = c.mark[:t.n]
	clear(c.mark)
	for _, j := range keep {
		if j < 0 || j >= t.n {
			return 0, fmt.Errorf("kvcache: compact: keep index %d outside 0..%d", j, t.n-1)
		}
		if c.mark[j] {
			return 0, fmt.Errorf("kvcache: compact: keep index %d listed twice", j)
		}
		c.mark[j] = true
	}
	return len(keep), nil
}

// planMoves fills c.moves with (dst, src) pairs: survivors not below stay, in
// ascending src, to the holes of [0, kept) (slots not held by a survivor
// below stay), ascending. It returns the lowest dst that differs from its
// src (kept when nothing moves), i.e. the first slot written.
func (t *Table) planMoves(c *compactScratch, kept, stay int) int {
	c.moves = c.moves[:0]
	first, h := kept, 0
	for j := stay; j < t.n; j++ {
		if !c.mark[j] {
			continue
		}
		for h < stay && c.mark[h] { // slots below stay that survive are stayers
			h++
		}
		c.moves = append(c.moves, int32(h), int32(j))
		if h != j && h < first {
			first = h
		}
		h++
	}
	return first
}
