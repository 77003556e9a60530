package kvcache

import (
	"errors"
	"fmt"
)

// Sequence is one sequence's paged KV store: a Table per (layer, kv-head) and a
// logical length (the next RoPE position; it only grows, independent of the
// physical table lengths that eviction shrinks). It implements model.KV
// structurally. A Sequence is used by one goroutine at a time.
//
// Protocol per forward pass: Reserve(T) for the T tokens of the step, then per
// layer Store(layer, pos, k, v) followed by Attend(layer, pos, q, out, p).
// Store never allocates blocks, so it cannot fail on a full pool mid-forward.
// A forward that fails after storing some layers leaves the layers at
// different lengths: Release the sequence and recompute it.
type Sequence struct {
	pool   *Pool
	shape  Shape
	tables []Table // [layer*KVHeads + kvHead]
	length int     // logical length: max stored position + 1

	tapMass, tapLast bool
	err              error // argument error of the latest Attend call, if any

	att   attendState    // per-call state and per-worker scratch (attend.go)
	cmp   compactScratch // compaction scratch (compact.go)
	alloc []int32        // Reserve scratch
}

// NewSequence makes an empty sequence drawing blocks from pool (not nil).
func NewSequence(pool *Pool) *Sequence {
	s := &Sequence{pool: pool, shape: pool.shape}
	s.tables = make([]Table, pool.shape.Layers*pool.shape.KVHeads)
	for i := range s.tables {
		s.tables[i].seq = s
	}
	s.att.init(s)
	return s
}

// Pool is the pool the sequence draws from.
func (s *Sequence) Pool() *Pool { return s.pool }

// Shape is the model geometry.
func (s *Sequence) Shape() Shape { return s.shape }

// Len is the logical length: one past the largest position stored so far (the
// next RoPE position). It is not reduced by eviction.
func (s *Sequence) Len() int { return s.length }

// Table returns the block table of (layer, kvHead), or nil when out of range.
func (s *Sequence) Table(layer, kvHead int) *Table {
	if layer < 0 || layer >= s.shape.Layers || kvHead < 0 || kvHead >= s.shape.KVHeads {
		return nil
	}
	return &s.tables[layer*s.shape.KVHeads+kvHead]
}

// Blocks is the number of blocks held over all tables.
func (s *Sequence) Blocks() int {
	n := 0
	for i := range s.tables {
		n += len(s.tables[i].blocks)
	}
	return n
}

// Bytes is the memory of the blocks the sequence holds (shared blocks count
// in full for every holder).
func (s *Sequence) Bytes() int64 { return int64(s.Blocks()) * s.pool.BlockBytes() }

// Err returns the argument error of the latest Attend call (Attend has no
// error result), or nil.
func (s *Sequence) Err() error { return s.err }

// Reserve makes room for n more tokens in every table, all or nothing. It is
// not cumulative: the reservation of each table becomes max(pending, n), so a
// retried step does not reserve twice. When the pool lacks blocks it
// allocates nothing and returns an error wrapping ErrCacheFull
// ("kv cache full: need N blocks, M free").
func (s *Sequence) Reserve(n int) error {
	if n < 0 {
		return fmt.Errorf("kvcache: reserve %d tokens", n)
	}
	bs, need := s.pool.bs, 0
	for i := range s.tables {
		t := &s.tables[i]
		need += ceilDiv(t.n+max(t.pending, n), bs) - len(t.blocks)
	}
	ids, err := s.pool.AllocN(s.alloc[:0], need)
	s.alloc = ids[:0]
	if err != nil {
		return err // already "kv cache full: need N blocks, M free"
	}
	for i := range s.tables {
		t := &s.tables[i]
		t.pending = max(t.pending, n)
		k := ceilDiv(t.n+t.pending, bs) - len(t.blocks)
		t.blocks = append(t.blocks, ids[:k]...)
		ids = ids[k:]
		t.growTaps(s.tapMass, s.tapLast)
	}
	return nil
}

// Store appends T tokens of one layer. k, v: [T][KVHeads*HeadDim]; pos: [T]
// absolute positions. Every table of the layer must have T reserved slots.
func (s *Sequence) Store(layer int, pos []int32, k, v []float32) error {
	T, hd, kvh := len(pos), s.shape.HeadDim, s.shape.KVHeads
	if layer < 0 || layer >= s.shape.Layers {
		return fmt.Errorf("kvcache: store: layer %d outside 0..%d", layer, s.shape.Layers-1)
	}
	if len(k) != T*kvh*hd || len(v) != T*kvh*hd {
		return fmt.Errorf("kvcache: store: %d tokens need k, v of %d elements, got %d and %d", T, T*kvh*hd, len(k), len(v))
	}
	for g := range kvh {
		if t := &s.tables[layer*kvh+g]; t.pending < T {
			return fmt.Errorf("kvcache: store: %d tokens exceed the %d reserved slots of layer %d head %d (call Reserve first)",
				T, t.pending, layer, g)
		}
	}
	bs, p := s.pool.bs, s.pool
	for g := range kvh {
		t := &s.tables[layer*kvh+g]
		for i, ps := range pos {
			slot, o := t.n+i, (i*kvh+g)*hd
			p.writeSlot(t.blocks[slot/bs], slot%bs, k[o:o+hd], v[o:o+hd], ps)
			if t.mass != nil {
				t.mass[slot] = 0
			}
			if t.last != nil {
				t.last[slot] = 0
			}
		}
		t.n += T
		t.pending -= T
	}
	for _, ps := range pos {
		s.length = max(s.length, int(ps)+1)
	}
	return nil
}

// Release frees every block (each table's blocks in reverse order, tables in
// reverse order) and resets the sequence to empty, logical length 0. Calling
// it again does nothing. The sequence may be reused afterwards.
func (s *Sequence) Release() {
	for i := len(s.tables) - 1; i >= 0; i-- {
		s.tables[i].release()
	}
	s.length = 0
}

// errArgs marks Attend argument errors.
var errArgs = errors.New("kvcache: bad arguments")

func ceilDiv(a, b int) int { return (a + b - 1) / b }
