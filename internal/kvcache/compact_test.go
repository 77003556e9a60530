package kvcache

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// fillTable makes a 1-table sequence with n tokens at positions 0..n-1 whose
// key dim 0 holds the position, plus a reservation of pending more slots.
func fillTable(t *testing.T, bs, n, pending int) (*Pool, *Sequence, *Table) {
	t.Helper()
	sh := Shape{Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 4}
	p := mustPool(t, sh, bs, F32, 64)
	s := NewSequence(p)
	if err := s.Reserve(n); err != nil {
		t.Fatal(err)
	}
	pos, k := make([]int32, n), make([]float32, 4*n)
	for i := range pos {
		pos[i], k[4*i] = int32(i), float32(i)
	}
	if err := s.Store(0, pos, k, k); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(pending); err != nil {
		t.Fatal(err)
	}
	return p, s, s.Table(0, 0)
}

func span(lo, hi int) []int {
	var r []int
	for i := lo; i < hi; i++ {
		r = append(r, i)
	}
	return r
}

func TestCompactStats(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bs, n     int
		pending   int
		keep      []int
		holeFill  int // newestStart; -1 = repack
		freed     int
		copies    int
		positions string
	}{
		{"repack keep all", 8, 20, 0, span(0, 20), -1, 0, 0, fmt.Sprint(span(0, 20))},
		{"repack drop tail", 8, 20, 0, span(0, 8), -1, 2, 0, fmt.Sprint(span(0, 8))},
		{"repack drop head", 8, 20, 0, span(12, 20), -1, 2, 8, fmt.Sprint(span(12, 20))},
		{"repack unsorted keep", 8, 10, 0, []int{9, 1, 5}, -1, 1, 3, "[1 5 9]"},
		{"repack keep none", 8, 17, 0, nil, -1, 3, 0, "[]"},
		{"repack with reservation", 8, 16, 3, []int{0, 15}, -1, 2, 1, "[0 15]"},
		{"holefill newest into holes", 8, 12, 0, []int{0, 2, 3, 5, 9, 11, 10}, 8, 1, 3, "[0 9 2 3 10 5 11]"},
		{"holefill history beyond kept moves", 8, 12, 0, []int{0, 7, 9}, 8, 1, 2, "[0 7 9]"},
		{"holefill newestStart 0 is repack", 8, 12, 0, []int{3, 4, 11}, 0, 1, 3, "[3 4 11]"},
		{"holefill newestStart len", 8, 12, 0, []int{1, 6, 11}, 12, 1, 2, "[6 1 11]"},
	} {
		p, s, tab := fillTable(t, tc.bs, tc.n, tc.pending)
		before, free0 := tab.NumBlocks(), p.NumFree()
		var st CompactStats
		var err error
		if tc.holeFill < 0 {
			st, err = tab.CompactRepack(tc.keep)
		} else {
			st, err = tab.CompactHoleFill(tc.keep, tc.holeFill)
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := CompactStats{Evicted: tc.n - len(tc.keep), BlocksFreed: tc.freed,
			BytesFreed: int64(tc.freed) * p.BlockBytes(), Copies: tc.copies}
		if st != want {
			t.Errorf("%s: stats %+v, want %+v", tc.name, st, want)
		}
		if p.NumFree()-free0 != tc.freed || tab.NumBlocks() != before-tc.freed {
			t.Errorf("%s: free grew by %d, table %d -> %d blocks", tc.name, p.NumFree()-free0, before, tab.NumBlocks())
		}
		if got := fmt.Sprint(tab.Positions(nil)); got != tc.positions {
			t.Errorf("%s: positions %s, want %s", tc.name, got, tc.positions)
		}
		for i := range tab.Len() { // K travelled with its position
			k := make([]float32, 4)
			if pos, _ := tab.Key(i, k); float32(pos) != k[0] {
				t.Errorf("%s: slot %d holds position %d with key of %v", tc.name, i, pos, k[0])
			}
		}
		mustAudit(t, p, s)
	}
}

func TestCompactErrors(t *testing.T) {
	p, s, tab := fillTable(t, 8, 20, 0)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"out of range", second2(tab.CompactRepack([]int{20})), "keep index 20 outside 0..19"},
		{"negative", second2(tab.CompactRepack([]int{-1})), "keep index -1"},
		{"duplicate", second2(tab.CompactHoleFill([]int{3, 4, 3}, 0)), "listed twice"},
		{"newest start", second2(tab.CompactHoleFill([]int{3}, 21)), "newest start 21"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if tab.Len() != 20 || tab.NumBlocks() != 3 {
		t.Fatal("failed compaction changed the table")
	}
	// A block shared with another owner may not be rewritten or freed.
	if err := p.IncRef(tab.Blocks()[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.CompactRepack(span(0, 10)); !errors.Is(err, ErrShared) {
		t.Fatalf("compacting over a shared block: %v", err)
	}
	// Shared prefix blocks untouched by the compaction are fine.
	_ = p.Free(tab.Blocks()[2])
	_ = p.IncRef(tab.Blocks()[0])
	if _, err := tab.CompactRepack(append(span(0, 8), 19)); err != nil {
		t.Fatalf("compaction behind a shared prefix: %v", err)
	}
	_ = p.Free(tab.Blocks()[0])
	mustAudit(t, p, s)
}

func second2(_ CompactStats, err error) error { return err }

// TestCompactRounds runs a budgeted decode: every table keeps a random set of
// `budget` tokens (chosen per head) whenever it reaches budget+slack, over
// thousands of tokens; attention and taps must equal the reference over the
// kept tokens at every step, and every round frees exactly the blocks above
// ceil(budget/bs).
func TestCompactRounds(t *testing.T) {
	for _, tc := range []struct {
		bs, budget, slack, tokens int
		dt                        DType
		holeFill                  bool
	}{
		{8, 40, 24, 2000, F32, false},
		{16, 48, 32, 2000, F16, true},
		{32, 64, 64, 1500, F32, true},
	} {
		t.Run(fmt.Sprintf("bs%d/holefill=%v", tc.bs, tc.holeFill), func(t *testing.T) {
			t.Parallel()
			roundsCase(t, tc.bs, tc.budget, tc.slack, tc.tokens, tc.dt, tc.holeFill)
		})
	}
}

func roundsCase(t *testing.T, bs, budget, slack, tokens int, dt DType, holeFill bool) {
	rng := rand.New(rand.NewPCG(uint64(bs), 3))
	sh := Shape{Layers: 1, Heads: 4, KVHeads: 2, HeadDim: 8}
	p := mustPool(t, sh, bs, dt, 2*ceilDiv(budget+slack, bs)+2)
	s := NewSequence(p)
	s.EnableTaps(true)
	s.EnableLastAttention(true)
	m := newMirror(p.Shape(), dt)
	newest := make([]int, sh.KVHeads) // start of the newest round per table
	rounds := 0
	for s.Len() < tokens {
		outs, refs := step(t, s, m, rng, 1+rng.IntN(8), nil)
		checkOut(t, fmt.Sprintf("len %d", s.Len()), outs[0], refs[0].out, sh.HeadDim, tolF32)
		m.addMass(0, refs[0])
		checkTaps(t, s, m, 0, refs[0])
		for g := range sh.KVHeads {
			tab := s.Table(0, g)
			if tab.Len() < budget+slack {
				continue
			}
			keep := rng.Perm(tab.Len())[:budget]
			free0, held := p.NumFree(), tab.NumBlocks()
			var err error
			if holeFill {
				_, err = tab.CompactHoleFill(keep, newest[g])
				m.holeFill(g, keep, newest[g])
			} else {
				_, err = tab.CompactRepack(keep)
				m.repack(g, keep)
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := held - ceilDiv(budget, bs); p.NumFree()-free0 != want || tab.NumBlocks() != ceilDiv(budget, bs) {
				t.Fatalf("round %d: freed %d blocks, want %d", rounds, p.NumFree()-free0, want)
			}
			newest[g] = budget
			rounds++
		}
		mustAudit(t, p, s)
	}
	if rounds < 2*tokens/(slack+8) {
		t.Fatalf("only %d compaction rounds", rounds)
	}
	s.Release()
	if p.Used() != 0 {
		t.Fatalf("%d blocks leaked", p.Used())
	}
}
