package kvcache

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// opSource yields small random choices; ok is false when a fuzz input is used up.
type opSource interface {
	next(n int) (v int, ok bool) // v in [0, n)
}

type rngSource struct{ r *rand.Rand }

func (s rngSource) next(n int) (int, bool) { return s.r.IntN(n), true }

type byteSource struct{ b []byte }

func (s *byteSource) next(n int) (int, bool) {
	if len(s.b) == 0 {
		return 0, false
	}
	v := int(s.b[0]) % n
	s.b = s.b[1:]
	return v, true
}

// opsWorld is a pool shared by several sequences, each with a mirror.
type opsWorld struct {
	t      testing.TB
	p      *Pool
	seqs   []*Sequence
	mirror []*mirror
	rng    *rand.Rand // data of stored tokens (contents do not drive control flow)
}

func newOpsWorld(t testing.TB, bs int, dt DType) *opsWorld {
	sh := Shape{Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 4}
	w := &opsWorld{t: t, p: mustPool(t, sh, bs, dt, 48), rng: rand.New(rand.NewPCG(1, 1))}
	for range 4 {
		w.seqs = append(w.seqs, NewSequence(w.p))
		w.mirror = append(w.mirror, newMirror(w.p.Shape(), dt))
	}
	return w
}

// run applies up to maxOps operations drawn from src, checking every
// invariant after each.
func (w *opsWorld) run(src opSource, maxOps int) {
	for range maxOps {
		op, ok1 := src.next(8)
		si, ok2 := src.next(len(w.seqs))
		arg, ok3 := src.next(256)
		if !ok1 || !ok2 || !ok3 {
			return
		}
		w.apply(op, si, arg)
		w.check()
	}
}

func (w *opsWorld) apply(op, si, arg int) {
	s, m := w.seqs[si], w.mirror[si]
	sh := s.Shape()
	switch op {
	case 0, 1, 2: // append 1..20 tokens
		w.appendTokens(s, m, 1+arg%20)
	case 3: // release
		s.Release()
		*m = *newMirror(m.shape, m.dtype)
	case 4, 5: // compact one table
		ti := arg % len(m.tabs)
		tab := s.Table(ti/sh.KVHeads, ti%sh.KVHeads)
		w.compact(tab, m, ti, arg/len(m.tabs)%2 == 0)
	case 6: // reserve without storing (a pending reservation survives compaction)
		used := w.p.Used()
		if err := s.Reserve(arg % 9); errors.Is(err, ErrCacheFull) && w.p.Used() != used {
			w.t.Fatalf("failed reserve changed Used %d -> %d", used, w.p.Used())
		}
	case 7: // toggle taps, and attend once so taps are exercised
		s.EnableTaps(arg%2 == 0)
		s.EnableLastAttention(arg%3 == 0)
		if s.Len() > 0 {
			q, out := randVec(w.rng, sh.Heads*sh.HeadDim, 1), make([]float32, sh.Heads*sh.HeadDim)
			s.Attend(arg%sh.Layers, []int32{int32(s.Len() - 1)}, q, out, nil)
		}
	}
}

func (w *opsWorld) appendTokens(s *Sequence, m *mirror, T int) {
	used := w.p.Used()
	if err := s.Reserve(T); err != nil {
		if !errors.Is(err, ErrCacheFull) || w.p.Used() != used {
			w.t.Fatalf("reserve %d: %v (used %d -> %d)", T, err, used, w.p.Used())
		}
		return
	}
	sh := s.Shape()
	pos := make([]int32, T)
	for i := range pos {
		pos[i] = int32(s.Len() + i)
	}
	for l := range sh.Layers {
		k, v := randVec(w.rng, T*sh.KVHeads*sh.HeadDim, 1), randVec(w.rng, T*sh.KVHeads*sh.HeadDim, 1)
		if err := s.Store(l, pos, k, v); err != nil {
			w.t.Fatal(err)
		}
		m.store(l, pos, k, v)
	}
}

func (w *opsWorld) compact(tab *Table, m *mirror, ti int, repack bool) {
	keep := randKeep(w.rng, tab.Len())
	free0, held, pend := w.p.NumFree(), tab.NumBlocks(), tab.Pending()
	var st CompactStats
	var err error
	if repack {
		st, err = tab.CompactRepack(keep)
		m.repack(ti, keep)
	} else {
		ns := w.rng.IntN(tab.Len() + 1)
		st, err = tab.CompactHoleFill(keep, ns)
		m.holeFill(ti, keep, ns)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	want := held - ceilDiv(len(keep)+pend, w.p.BlockSize())
	if st.BlocksFreed != want || w.p.NumFree()-free0 != want {
		w.t.Fatalf("compaction freed %d (pool +%d), want %d", st.BlocksFreed, w.p.NumFree()-free0, want)
	}
}

// check runs Audit and compares every table's positions and keys with its mirror.
func (w *opsWorld) check() {
	if err := Audit(w.p, w.seqs...); err != nil {
		w.t.Fatal(err)
	}
	k, v := make([]float32, 4), make([]float32, 4)
	for si, s := range w.seqs {
		for ti, want := range w.mirror[si].tabs {
			tab := &s.tables[ti]
			if tab.Len() != len(want) {
				w.t.Fatalf("seq %d table %d: len %d, mirror %d", si, ti, tab.Len(), len(want))
			}
			for j, e := range want {
				pos, _ := tab.Slot(j, k, v)
				if pos != e.pos || !slices.Equal(k, e.k) || !slices.Equal(v, e.v) {
					w.t.Fatalf("seq %d table %d slot %d: pos %d, mirror %d (or K/V differ)", si, ti, j, pos, e.pos)
				}
			}
		}
	}
}

// releaseAll releases every sequence, checks, and requires an empty pool.
func (w *opsWorld) releaseAll() {
	for si, s := range w.seqs {
		s.Release()
		*w.mirror[si] = *newMirror(w.mirror[si].shape, w.mirror[si].dtype)
	}
	w.check()
	if w.p.Used() != 0 {
		w.t.Fatalf("%d blocks leaked", w.p.Used())
	}
}

func TestRandomOps(t *testing.T) {
	for _, tc := range []struct {
		bs   int
		dt   DType
		seed uint64
	}{
		{8, F32, 1}, {16, F16, 2}, {32, F32, 3}, {8, F16, 4},
	} {
		w := newOpsWorld(t, tc.bs, tc.dt)
		w.run(rngSource{rand.New(rand.NewPCG(tc.seed, 42))}, 400)
		w.releaseAll()
	}
}

func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 9, 0, 1, 30, 4, 0, 7, 5, 1, 200, 3, 0, 0})
	f.Add([]byte{6, 2, 8, 0, 2, 19, 5, 2, 1, 7, 2, 6, 4, 2, 3, 0, 3, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		bs := []int{8, 16, 32}[len(data)%3]
		w := newOpsWorld(t, bs, DType(len(data)/3%2))
		w.run(&byteSource{data}, 200)
		w.releaseAll()
	})
}
