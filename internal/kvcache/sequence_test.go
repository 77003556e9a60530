package kvcache

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestStoreNeedsReservation(t *testing.T) {
	sh := Shape{Layers: 2, Heads: 2, KVHeads: 2, HeadDim: 4}
	p := mustPool(t, sh, 8, F32, 64)
	s := NewSequence(p)
	kv := func(T int) []float32 { return make([]float32, T*2*4) }
	pos := func(T int) []int32 { return make([]int32, T) }
	for _, tc := range []struct {
		name    string
		reserve int // -1: no Reserve call
		layer   int
		T       int
		k       []float32
		err     string
	}{
		{"no reservation", -1, 0, 1, kv(1), "exceed the 0 reserved slots"},
		{"within reservation", 3, 0, 3, kv(3), ""},
		{"layer 1 has its own", -1, 1, 3, kv(3), ""},
		{"reservation used up", -1, 0, 1, kv(1), "exceed the 0 reserved"},
		{"reserve is not cumulative", 2, 0, 1, kv(1), ""},
		{"still 1 left after max(pending, n)", 1, 0, 2, kv(2), "exceed the 1 reserved"},
		{"bad layer", 4, 2, 1, kv(1), "layer 2 outside"},
		{"negative layer", -1, -1, 1, kv(1), "layer -1 outside"},
		{"short k", -1, 0, 2, kv(1), "need k, v of 16"},
	} {
		if tc.reserve >= 0 {
			if err := s.Reserve(tc.reserve); err != nil {
				t.Fatalf("%s: reserve: %v", tc.name, err)
			}
		}
		err := s.Store(tc.layer, pos(tc.T), tc.k, kv(tc.T))
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
		mustAudit(t, p, s)
	}
	if err := s.Reserve(-1); err == nil {
		t.Error("Reserve(-1) accepted")
	}
}

// TestCacheFull: a failed Reserve allocates nothing, says exactly how many
// blocks it lacked, and leaves other sequences working.
func TestCacheFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	sh := Shape{Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8}
	p := mustPool(t, sh, 8, F32, 12) // 4 tables per sequence
	a, b := NewSequence(p), NewSequence(p)
	ma := newMirror(p.Shape(), F32)
	step(t, a, ma, rng, 9, nil) // 2 blocks per table: 8 used
	if err := b.Reserve(1); err != nil {
		t.Fatal(err) // 4 more: pool full
	}
	used := p.Used()
	err := b.Reserve(9) // needs 1 more block per table
	if !errors.Is(err, ErrCacheFull) || err.Error() != "kv cache full: need 4 blocks, 0 free" {
		t.Fatalf("error %v", err)
	}
	if p.Used() != used || b.Blocks() != 4 || b.Table(1, 1).Pending() != 1 {
		t.Fatalf("failed reserve changed state: used %d->%d, b holds %d", used, p.Used(), b.Blocks())
	}
	b.Release()
	if err := a.Reserve(17); err == nil || err.Error() != "kv cache full: need 8 blocks, 4 free" {
		t.Fatalf("error %v", err)
	}
	// a still attends correctly, and can grow into what b released.
	outs, refs := step(t, a, ma, rng, 7, nil)
	for l := range outs {
		checkOut(t, "after failed reserve", outs[l], refs[l].out, sh.HeadDim, tolF32)
	}
	mustAudit(t, p, a, b)
}

func TestReleaseIdempotent(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	sh := Shape{Layers: 3, Heads: 2, KVHeads: 1, HeadDim: 4}
	p := mustPool(t, sh, 8, F16, 32)
	s := NewSequence(p)
	s.EnableTaps(true)
	step(t, s, nil, rng, 20, nil)
	if s.Len() != 20 || s.Blocks() != 9 || s.Bytes() != 9*p.BlockBytes() {
		t.Fatalf("len %d blocks %d bytes %d", s.Len(), s.Blocks(), s.Bytes())
	}
	for range 2 {
		s.Release()
		mustAudit(t, p, s)
		if p.Used() != 0 || s.Len() != 0 || s.Blocks() != 0 {
			t.Fatalf("after release: used %d len %d blocks %d", p.Used(), s.Len(), s.Blocks())
		}
	}
	// Reverse release order: the last table's last block is freed first, so
	// it sits deepest in the LIFO stack; the first table's first block is on top.
	if id, _ := p.Alloc(); id != 0 {
		t.Fatalf("first block after release %d, want 0", id)
	}
	_ = p.Free(0)
	step(t, s, nil, rng, 5, nil) // reusable
	mustAudit(t, p, s)
}

func TestTableAccessors(t *testing.T) {
	sh := Shape{Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 4}
	p := mustPool(t, sh, 8, F16, 4)
	s := NewSequence(p)
	if s.Table(1, 0) != nil || s.Table(0, -1) != nil || s.LastAttention(3, 0) != nil {
		t.Fatal("out-of-range table not nil")
	}
	if err := s.Reserve(2); err != nil {
		t.Fatal(err)
	}
	k, v := []float32{1, 2, 3, 4, 0.5, 0.25, -1, 1e-3}, []float32{5, 6, 7, 8, 9, 10, 11, 12}
	if err := s.Store(0, []int32{40, 41}, k, v); err != nil {
		t.Fatal(err)
	}
	tab := s.Table(0, 0)
	kd, vd := make([]float32, 4), make([]float32, 4)
	pos, err := tab.Slot(1, kd, vd)
	if err != nil || pos != 41 || kd[3] != 0.0010004044 || vd[0] != 9 {
		t.Fatalf("slot 1: pos %d k %v v %v err %v", pos, kd, vd, err)
	}
	if pos, err := tab.Key(0, kd); err != nil || pos != 40 || kd[1] != 2 {
		t.Fatalf("key 0: %d %v %v", pos, kd, err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"slot past end", second(tab.Slot(2, kd, vd))},
		{"short buffer", second(tab.Slot(0, kd[:3], vd))},
		{"key negative", second(tab.Key(-1, kd))},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if tab.Pos(5) != -1 || tab.Pos(1) != 41 || s.Len() != 42 {
		t.Fatalf("pos %d %d len %d", tab.Pos(5), tab.Pos(1), s.Len())
	}
}

func second(_ int32, err error) error { return err }
