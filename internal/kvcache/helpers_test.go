package kvcache

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/tensor"
)

// entry is one stored token of one (layer, kv-head) in the reference mirror.
type entry struct {
	pos  int32
	k, v []float32
	mass float64 // reference cumulative attention mass
}

// mirror is the test's direct model of a Sequence: per table, the entries in
// slot order. It is updated by independent (slow, obvious) code.
type mirror struct {
	shape Shape
	dtype DType
	tabs  [][]entry // [layer*KVHeads+g]
}

func newMirror(shape Shape, dtype DType) *mirror {
	return &mirror{shape: shape, dtype: dtype, tabs: make([][]entry, shape.Layers*shape.KVHeads)}
}

// round returns x as stored by dtype.
func (m *mirror) round(x []float32) []float32 {
	y := slices.Clone(x)
	if m.dtype == F16 {
		for i := range y {
			y[i] = tensor.F16ToF32(tensor.F32ToF16(y[i]))
		}
	}
	return y
}

func (m *mirror) store(layer int, pos []int32, k, v []float32) {
	hd, kvh := m.shape.HeadDim, m.shape.KVHeads
	for g := range kvh {
		ti := layer*kvh + g
		for t, p := range pos {
			o := (t*kvh + g) * hd
			m.tabs[ti] = append(m.tabs[ti], entry{pos: p, k: m.round(k[o : o+hd]), v: m.round(v[o : o+hd])})
		}
	}
}

// repack keeps the listed slots in ascending slot order.
func (m *mirror) repack(ti int, keep []int) {
	ks := slices.Sorted(slices.Values(keep))
	var out []entry
	for _, j := range ks {
		out = append(out, m.tabs[ti][j])
	}
	m.tabs[ti] = out
}

// holeFill: survivors below min(ns, kept) stay at their slot; the other
// survivors fill the remaining slots of [0, kept) lowest first, in slot order.
func (m *mirror) holeFill(ti int, keep []int, ns int) {
	kept := len(keep)
	stay := min(ns, kept)
	out := make([]entry, kept)
	used := make([]bool, kept)
	var movers []int
	for _, j := range slices.Sorted(slices.Values(keep)) {
		if j < stay {
			out[j], used[j] = m.tabs[ti][j], true
		} else {
			movers = append(movers, j)
		}
	}
	h := 0
	for _, j := range movers {
		for used[h] {
			h++
		}
		out[h], used[h] = m.tabs[ti][j], true
	}
	m.tabs[ti] = out
}

// refResult is the reference attention of one call.
type refResult struct {
	out  []float64   // [T][Heads*HeadDim]
	mass [][]float64 // [KVHeads][slot]: summed probability over queries and group heads
	last [][]float64 // [KVHeads][slot]: mean over group heads of the last query's probability
}

// attend computes attention directly: all scores in float64, plain softmax.
func (m *mirror) attend(layer int, pos []int32, q []float32) refResult {
	sh := m.shape
	hd, G, T := sh.HeadDim, sh.GroupSize(), len(pos)
	r := refResult{out: make([]float64, T*sh.Heads*hd)}
	for g := range sh.KVHeads {
		tab := m.tabs[layer*sh.KVHeads+g]
		mass, last := make([]float64, len(tab)), make([]float64, len(tab))
		for t := range T {
			for i := range G {
				h := g*G + i
				qh := q[(t*sh.Heads+h)*hd : (t*sh.Heads+h+1)*hd]
				probs := refSoftmax(tab, qh, pos[t], float64(sh.Scale))
				o := r.out[(t*sh.Heads+h)*hd : (t*sh.Heads+h+1)*hd]
				for j, p := range probs {
					mass[j] += p
					if t == T-1 {
						last[j] += p / float64(G)
					}
					for e := range o {
						o[e] += p * float64(tab[j].v[e])
					}
				}
			}
		}
		r.mass, r.last = append(r.mass, mass), append(r.last, last)
	}
	return r
}

// addMass adds the reference mass of one call on layer to the mirror's entries.
func (m *mirror) addMass(layer int, r refResult) {
	for g, ms := range r.mass {
		tab := m.tabs[layer*m.shape.KVHeads+g]
		for j, x := range ms {
			tab[j].mass += x
		}
	}
}

// checkTaps compares the sequence's taps of layer with the mirror (mass) and
// the reference of the latest call (last query).
func checkTaps(t *testing.T, s *Sequence, m *mirror, layer int, r refResult) {
	t.Helper()
	for g := range m.shape.KVHeads {
		tab := m.tabs[layer*m.shape.KVHeads+g]
		mass, last := s.Table(layer, g).Mass(), s.LastAttention(layer, g)
		if len(mass) != len(tab) || len(last) != len(tab) {
			t.Fatalf("layer %d head %d: taps of %d/%d slots, want %d", layer, g, len(mass), len(last), len(tab))
		}
		for j, e := range tab {
			if d := math.Abs(float64(mass[j]) - e.mass); d > 1e-5*max(1, e.mass) {
				t.Fatalf("layer %d head %d slot %d: mass %v, want %v", layer, g, j, mass[j], e.mass)
			}
			if d := math.Abs(float64(last[j]) - r.last[g][j]); d > 1e-5 {
				t.Fatalf("layer %d head %d slot %d: last-query probability %v, want %v", layer, g, j, last[j], r.last[g][j])
			}
		}
	}
}

// refSoftmax returns the probability of every entry for query q at qpos
// (0 for masked entries; all 0 when nothing is visible).
func refSoftmax(tab []entry, q []float32, qpos int32, scale float64) []float64 {
	s := make([]float64, len(tab))
	mx := math.Inf(-1)
	for j, e := range tab {
		if e.pos > qpos {
			s[j] = math.Inf(-1)
			continue
		}
		var d float64
		for x := range q {
			d += float64(q[x]) * float64(e.k[x])
		}
		s[j] = d * scale
		mx = max(mx, s[j])
	}
	if math.IsInf(mx, -1) {
		return make([]float64, len(tab))
	}
	var sum float64
	for j := range s {
		s[j] = math.Exp(s[j] - mx)
		sum += s[j]
	}
	for j := range s {
		s[j] /= sum
	}
	return s
}

// rowErr is the largest |got-want| over one head row divided by the row's
// largest |want| (floored at 1e-3 so all-but-zero rows are not divided by ~0).
func rowErr(got []float32, want []float64) float64 {
	var d, w float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-want[i]))
		w = max(w, math.Abs(want[i]))
	}
	return d / max(w, 1e-3)
}

// checkOut compares out with the reference per head row.
func checkOut(t *testing.T, what string, out []float32, ref []float64, hd int, tol float64) {
	t.Helper()
	for r := 0; r < len(ref)/hd; r++ {
		if e := rowErr(out[r*hd:(r+1)*hd], ref[r*hd:(r+1)*hd]); e > tol || math.IsNaN(e) {
			t.Fatalf("%s: row %d relative error %.3g > %.3g", what, r, e, tol)
		}
	}
}

func randVec(rng *rand.Rand, n int, amp float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = amp * (2*rng.Float32() - 1)
	}
	return x
}

func mustPool(t testing.TB, shape Shape, bs int, dtype DType, blocks int) *Pool {
	t.Helper()
	p, err := NewPool(shape, Options{BlockSize: bs, DType: dtype, Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustAudit(t testing.TB, p *Pool, seqs ...*Sequence) {
	t.Helper()
	if err := Audit(p, seqs...); err != nil {
		t.Fatal(err)
	}
}

// step reserves, stores and attends T new random tokens at the sequence's
// next positions in every layer and returns the outputs per layer. With a
// mirror it also mirrors the store and returns the reference results.
func step(t testing.TB, s *Sequence, m *mirror, rng *rand.Rand, T int, p *parallel.Pool) ([][]float32, []refResult) {
	t.Helper()
	sh := s.Shape()
	if err := s.Reserve(T); err != nil {
		t.Fatal(err)
	}
	pos := make([]int32, T)
	for i := range pos {
		pos[i] = int32(s.Len() + i)
	}
	var outs [][]float32
	var refs []refResult
	for l := range sh.Layers {
		k := randVec(rng, T*sh.KVHeads*sh.HeadDim, 1)
		v := randVec(rng, T*sh.KVHeads*sh.HeadDim, 1)
		q := randVec(rng, T*sh.Heads*sh.HeadDim, 3)
		if err := s.Store(l, pos, k, v); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(q))
		s.Attend(l, pos, q, out, p)
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
		if m != nil {
			m.store(l, pos, k, v)
			refs = append(refs, m.attend(l, pos, q))
		}
	}
	return outs, refs
}
