package kvcache

import "fmt"

// Table is the block table of one (sequence, layer, kv-head): an ordered list
// of block ids and a physical length n (slots in use). Slot j lives in block
// blocks[j/bs] at offset j%bs. Each table has its own length, so a policy may
// keep a different token set per head and still free whole blocks.
//
// Invariant: len(blocks) == ceil((n + pending)/bs), where pending is the
// reserved but not yet written slot count (0 between engine steps).
type Table struct {
	seq     *Sequence
	blocks  []int32
	n       int
	pending int
	// Score taps, aligned with slots (len = len(blocks)*bs, valid for [0, n)); nil when off.
	mass []float32 // cumulative attention mass received (H2O)
	last []float32 // probabilities of the last query of the latest Attend (TOVA)
}

// Len is the physical length: slots in use.
func (t *Table) Len() int { return t.n }

// Pending is the number of reserved slots not yet written.
func (t *Table) Pending() int { return t.pending }

// NumBlocks is the number of blocks held.
func (t *Table) NumBlocks() int { return len(t.blocks) }

// Blocks is the ordered block id list. The slice is the table's own: read only,
// valid until the next Reserve, Store, compaction or Release.
func (t *Table) Blocks() []int32 { return t.blocks }

// Slot reads slot i: K and V are converted into k and v ([HeadDim] each)
// and the absolute position is returned.
func (t *Table) Slot(i int, k, v []float32) (int32, error) {
	hd := t.seq.pool.shape.HeadDim
	if len(k) < hd || len(v) < hd {
		return 0, fmt.Errorf("kvcache: slot buffers of %d/%d elements, need %d", len(k), len(v), hd)
	}
	id, j, err := t.locate(i)
	if err != nil {
		return 0, err
	}
	return t.seq.pool.readSlot(id, j, k, v), nil
}

// Key reads only the key of slot i into k ([HeadDim]) and returns its position.
func (t *Table) Key(i int, k []float32) (int32, error) {
	hd := t.seq.pool.shape.HeadDim
	if len(k) < hd {
		return 0, fmt.Errorf("kvcache: key buffer of %d elements, need %d", len(k), hd)
	}
	id, j, err := t.locate(i)
	if err != nil {
		return 0, err
	}
	return t.seq.pool.readKey(id, j, k), nil
}

func (t *Table) locate(i int) (int32, int, error) {
	if i < 0 || i >= t.n {
		return 0, 0, fmt.Errorf("kvcache: slot %d outside 0..%d", i, t.n-1)
	}
	bs := t.seq.pool.bs
	return t.blocks[i/bs], i % bs, nil
}

// Pos is the absolute position of slot i (i in [0, Len()); -1 outside).
func (t *Table) Pos(i int) int32 {
	if i < 0 || i >= t.n {
		return -1
	}
	bs := t.seq.pool.bs
	return t.seq.pool.slotPos(t.blocks[i/bs], i%bs)
}

// Positions appends the positions of all slots, in slot order, to dst.
func (t *Table) Positions(dst []int32) []int32 {
	bs := t.seq.pool.bs
	for b, id := range t.blocks {
		n := min(bs, t.n-b*bs)
		if n <= 0 {
			break
		}
		dst = append(dst, t.seq.pool.blockPos(id, n)...)
	}
	return dst
}

// Mass is the cumulative attention mass per slot ([Len()]) accumulated by
// score taps, or nil when taps are off. Read only; it follows slots through
// compaction.
func (t *Table) Mass() []float32 {
	if t.mass == nil {
		return nil
	}
	return t.mass[:t.n]
}

// capacity is the number of slots the held blocks provide.
func (t *Table) capacity() int { return len(t.blocks) * t.seq.pool.bs }

// growTaps extends tap arrays to the current capacity (new slots zero).
func (t *Table) growTaps(mass, last bool) {
	c := t.capacity()
	if mass {
		t.mass = growZero(t.mass, c)
	}
	if last {
		t.last = growZero(t.last, c)
	}
}

// growZero extends a to length >= n with zeros; the result is never nil.
func growZero(a []float32, n int) []float32 {
	if a == nil && n == 0 {
		return []float32{}
	}
	if len(a) >= n {
		return a
	}
	if cap(a) >= n {
		old := len(a)
		a = a[:n]
		clear(a[old:])
		return a
	}
	b := make([]float32, n, max(n, 2*cap(a)))
	copy(b, a)
	return b
}

// release frees the table's blocks in reverse order and empties it.
func (t *Table) release() {
	p := t.seq.pool
	for i := len(t.blocks) - 1; i >= 0; i-- {
		_ = p.Free(t.blocks[i]) // ids held by a table are live by construction
	}
	t.blocks = t.blocks[:0]
	t.n, t.pending = 0, 0
}
