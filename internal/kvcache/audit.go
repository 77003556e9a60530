package kvcache

import "fmt"

// Audit checks the cache invariants of a pool and all sequences that hold its
// blocks (pass every holder, or reference counts will not match):
//   - every table holds exactly ceil((Len + Pending)/BlockSize) blocks, and its
//     tap arrays (when on) cover its capacity;
//   - every block's reference count equals the number of tables holding it,
//     so a block appears in two tables only when shared on purpose;
//   - pool Used() equals the number of distinct held blocks;
//   - the free list has no duplicates and holds exactly the unreferenced blocks.
//
// It is O(blocks) and meant for tests and debug builds.
func Audit(p *Pool, seqs ...*Sequence) error {
	held := make([]int32, p.Total())
	for si, s := range seqs {
		if s.pool != p {
			return fmt.Errorf("kvcache: audit: sequence %d uses another pool", si)
		}
		for ti := range s.tables {
			if err := auditTable(&s.tables[ti], held); err != nil {
				return fmt.Errorf("kvcache: audit: sequence %d layer %d head %d: %w",
					si, ti/s.shape.KVHeads, ti%s.shape.KVHeads, err)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	distinct := 0
	for id, n := range held {
		if r := p.ref[id]; n != r {
			return fmt.Errorf("kvcache: audit: block %d held by %d tables, reference count %d", id, n, r)
		}
		if n > 0 {
			distinct++
		}
	}
	if u := p.total - len(p.free); u != distinct {
		return fmt.Errorf("kvcache: audit: pool reports %d used blocks, tables hold %d", u, distinct)
	}
	return p.checkFreeList()
}

func auditTable(t *Table, held []int32) error {
	bs := t.seq.pool.bs
	if t.n < 0 || t.pending < 0 {
		return fmt.Errorf("negative length %d or reservation %d", t.n, t.pending)
	}
	if want := ceilDiv(t.n+t.pending, bs); len(t.blocks) != want {
		return fmt.Errorf("%d blocks for length %d + reserved %d, want %d", len(t.blocks), t.n, t.pending, want)
	}
	for _, id := range t.blocks {
		if id < 0 || int(id) >= len(held) {
			return fmt.Errorf("invalid block id %d", id)
		}
		held[id]++
	}
	if (t.mass != nil && len(t.mass) < t.capacity()) || (t.last != nil && len(t.last) < t.capacity()) {
		return fmt.Errorf("tap arrays of %d/%d slots, capacity %d", len(t.mass), len(t.last), t.capacity())
	}
	if t.seq.tapMass != (t.mass != nil) || t.seq.tapLast != (t.last != nil) {
		return fmt.Errorf("tap arrays do not match the sequence's tap settings")
	}
	return nil
}
