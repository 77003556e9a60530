package kvcache

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kvpack/kvpack/internal/parallel"
)

// Tolerances against the float64 reference (max abs error over a head row
// divided by the row's max abs value, see rowErr). F16 is compared with a
// reference built from the same F16-rounded K/V, which isolates the kernel
// (storage rounding is exact to reproduce), so it meets the F32 bound; against
// unrounded K/V the F16 bound is tolF16Raw.
const (
	tolF32    = 1e-5
	tolF16Raw = 5e-3
)

// randKeep picks a random subset of [0, n) of size in [0, n], in random order.
func randKeep(rng *rand.Rand, n int) []int {
	perm := rng.Perm(n)
	return perm[:rng.IntN(n+1)]
}

func TestAttendMatchesReference(t *testing.T) {
	for _, G := range []int{1, 2, 3, 4} {
		for _, bs := range []int{8, 16, 32} {
			for _, chunk := range []int{1, 5, 16, 37} {
				dt := DType((G + bs/8 + chunk) % 2) // each dtype meets every G, bs and chunk
				t.Run(fmt.Sprintf("G%d/bs%d/chunk%d/%v", G, bs, chunk, dt), func(t *testing.T) {
					t.Parallel()
					pool := parallel.New(2)
					defer pool.Close()
					seed := uint64(G*1000 + bs*10 + chunk)
					attendCase(t, rand.New(rand.NewPCG(seed, 1)), G, bs, chunk, dt, pool)
				})
			}
		}
	}
}

// attendCase feeds 48 tokens in chunks, then scrambles each table by a
// hole-fill compaction with its own keep set, feeds more, repacks, feeds
// more; every call is compared with the reference, outputs and taps.
func attendCase(t *testing.T, rng *rand.Rand, G, bs, chunk int, dt DType, pp *parallel.Pool) {
	attendCaseHD(t, rng, []int{4, 12, 16, 20}[rng.IntN(4)], G, bs, chunk, dt, pp)
}

// attendCaseHD is attendCase with a given head dimension.
func attendCaseHD(t *testing.T, rng *rand.Rand, hd, G, bs, chunk int, dt DType, pp *parallel.Pool) {
	sh := Shape{Layers: 1 + rng.IntN(2), KVHeads: 1 + rng.IntN(2), HeadDim: hd}
	sh.Heads = sh.KVHeads * G
	p := mustPool(t, sh, bs, dt, 256)
	s := NewSequence(p)
	s.EnableTaps(true)
	s.EnableLastAttention(true)
	m := newMirror(p.Shape(), dt)
	feed := func(n int) {
		for done := 0; done < n; done += chunk {
			outs, refs := step(t, s, m, rng, min(chunk, n-done), pp)
			for l := range outs {
				checkOut(t, fmt.Sprintf("layer %d at len %d", l, s.Len()), outs[l], refs[l].out, hd, tolF32)
				m.addMass(l, refs[l])
				checkTaps(t, s, m, l, refs[l])
			}
		}
		mustAudit(t, p, s)
	}
	feed(48)
	for ti := range m.tabs {
		tab := s.Table(ti/sh.KVHeads, ti%sh.KVHeads)
		keep, ns := randKeep(rng, tab.Len()), rng.IntN(tab.Len()+1)
		if _, err := tab.CompactHoleFill(keep, ns); err != nil {
			t.Fatal(err)
		}
		m.holeFill(ti, keep, ns)
	}
	mustAudit(t, p, s)
	feed(24)
	for ti := range m.tabs {
		tab := s.Table(ti/sh.KVHeads, ti%sh.KVHeads)
		keep := randKeep(rng, tab.Len())
		if _, err := tab.CompactRepack(keep); err != nil {
			t.Fatal(err)
		}
		m.repack(ti, keep)
	}
	feed(24)
	s.Release()
	mustAudit(t, p, s)
	if p.Used() != 0 {
		t.Fatalf("%d blocks leaked", p.Used())
	}
}

// TestAttendF16VsF32 bounds the storage error of F16 against unrounded data.
func TestAttendF16VsF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	sh := Shape{Layers: 1, Heads: 9, KVHeads: 3, HeadDim: 64}
	p := mustPool(t, sh, 16, F16, 1024)
	s := NewSequence(p)
	m := newMirror(p.Shape(), F32) // unrounded reference
	for range 3 {
		outs, refs := step(t, s, m, rng, 37, nil)
		checkOut(t, "f16 vs f32", outs[0], refs[0].out, sh.HeadDim, tolF16Raw)
	}
}

// TestAttendSlotLayout pins the exact slot layout after a hole-fill and checks
// that causal masking follows positions, not slot order.
func TestAttendSlotLayout(t *testing.T) {
	sh := Shape{Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 4}
	p := mustPool(t, sh, 8, F32, 8)
	s := NewSequence(p)
	if err := s.Reserve(12); err != nil {
		t.Fatal(err)
	}
	pos := make([]int32, 12)
	k := make([]float32, 12*4)
	for i := range pos {
		pos[i] = int32(i)
		k[i*4] = float32(i) // key i carries its index in dim 0
	}
	if err := s.Store(0, pos, k, k); err != nil {
		t.Fatal(err)
	}
	tab := s.Table(0, 0)
	st, err := tab.CompactHoleFill([]int{0, 2, 3, 5, 9, 11, 10}, 8)
	if err != nil {
		t.Fatal(err)
	}
	got := tab.Positions(nil)
	want := []int32{0, 9, 2, 3, 10, 5, 11}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("positions after hole-fill %v, want %v", got, want)
	}
	if st != (CompactStats{Evicted: 5, BlocksFreed: 1, BytesFreed: p.BlockBytes(), Copies: 3}) {
		t.Fatalf("stats %+v", st)
	}
	// A query at position 4 sees slots holding positions 0, 2, 3 only.
	q, out := []float32{0, 0, 0, 0}, make([]float32, 4)
	s.Attend(0, []int32{4}, q, out, nil)
	if want := float32(0+2+3) / 3; math.Abs(float64(out[0]-want)) > 1e-6 {
		t.Fatalf("masked attention %v, want %v", out[0], want)
	}
}

func TestAttendBadArgs(t *testing.T) {
	sh := Shape{Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 4}
	s := NewSequence(mustPool(t, sh, 8, F32, 4))
	out := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	for _, tc := range []struct {
		name   string
		layer  int
		q, out []float32
	}{
		{"layer", 1, make([]float32, 8), out},
		{"q length", 0, make([]float32, 7), out},
		{"out length", 0, make([]float32, 8), out[:4]},
	} {
		s.Attend(tc.layer, []int32{0}, tc.q, tc.out, nil)
		if s.Err() == nil {
			t.Errorf("%s: no error", tc.name)
		}
		for _, x := range tc.out {
			if x != 0 {
				t.Errorf("%s: out not cleared", tc.name)
			}
		}
	}
	// No keys stored: zeros, no error.
	s.Attend(0, []int32{0}, make([]float32, 8), out, nil)
	if s.Err() != nil || out[0] != 0 {
		t.Fatalf("empty attend: err %v out %v", s.Err(), out)
	}
}

func TestAttendNoAllocs(t *testing.T) {
	pp := parallel.New(2)
	defer pp.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	sh := Shape{Layers: 1, Heads: 9, KVHeads: 3, HeadDim: 64}
	for _, taps := range []bool{false, true} {
		p := mustPool(t, sh, 16, F16, 1024)
		s := NewSequence(p)
		s.EnableTaps(taps)
		s.EnableLastAttention(taps)
		step(t, s, nil, rng, 100, pp)
		q, out := randVec(rng, 9*64, 1), make([]float32, 9*64)
		pos := []int32{99}
		s.Attend(0, pos, q, out, pp) // warm up scratch
		if n := testing.AllocsPerRun(20, func() { s.Attend(0, pos, q, out, pp) }); n != 0 {
			t.Errorf("taps=%v: %v allocations per Attend", taps, n)
		}
	}
}
