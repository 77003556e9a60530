package kvcache

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/parallel"
)

// Paged attention with an online (streaming) softmax over blocks.
//
// Work unit = (query token t, kv-head g, block range c). A unit walks its
// range of the blocks of table (layer, g) once; every block is used by all G
// query heads of the group (GQA reuse). Per head it keeps a running max m, a
// running sum l (float64) and an accumulator acc [HeadDim]; the only score
// storage is one block of raw scores. Keys whose stored position exceeds the
// query's position are masked, so slot order does not matter (hole-filling
// compaction scrambles it). With one range per pair (prefill, or enough
// pairs for the workers) a unit writes its output directly; with several
// (decode, flash-decoding) the partial states are merged after the pass.
//
// Kernels: with AVX2+FMA+F16C and HeadDim%8 == 0 (kern_amd64.s) the per-block
// work is three calls (scores of all keys of the block, eight keys at a time
// so the dot products are independent chains; exp of the block;
// Σ p_j v_j), reading F16 K/V directly (exact VCVTPH2PS conversion, no
// staging buffer). Otherwise (other CPUs, purego, KVPACK_NOASM=1, odd head
// dims) the scalar Go kernels of kernels.go run on float32 blocks. The two
// paths are not bit-identical: dot products sum in a different float32 order
// (each within ~1e-6 relative of Σ|q_e k_e|) and the vector exp is within
// 2 ulp of e^x, as exp32; outputs of both stay within the tests' 1e-5
// relative bound of the float64 reference. Within one call, both passes use
// the same path, so taps reproduce the main pass's scores bit for bit.

// attendState holds the arguments of the running call (so the parallel
// bodies are method values bound once, with no per-call closure) and the
// scratch of each worker.
type attendState struct {
	s *Sequence

	layer  int
	pos    []int32
	q, out []float32
	units  int  // work units of the running pass
	nw     int  // workers of the running pass
	split  int  // block ranges per (query, kv-head) in the main pass (flash-decoding)
	fast   bool // assembly kernels usable for this call (useAsm and HeadDim%8 == 0)

	work          []workerScratch
	mainFn, tapFn func(lo, hi int)
	tm            []float32 // [T*Heads] final running max per (query, head), for the tap pass
	tinv          []float32 // [T*Heads] 1/(final sum of exponentials) per (query, head); 0 = nothing visible
	tapOff        []int     // [KVHeads+1] first tap unit of each kv-head

	// Partial softmax states of split units ([units*G] and [units*G*HeadDim]).
	pm   []float32
	pl   []float64
	pacc []float32
}

// workerScratch is one worker's preallocated scratch.
type workerScratch struct {
	sc         []float32 // [bs] raw scores, then weights, of one block for one head
	acc        []float32 // [G*HeadDim] running weighted sums of V
	m          []float32 // [G] running max
	l          []float64 // [G] running sum of exp(score - m)
	kbuf, vbuf []float32 // [bs*HeadDim] F16 -> F32 conversion of one block (pure-Go path)
	tmass      []float32 // [bs] tap pass: per-slot mass of one block
	tlast      []float32 // [bs] tap pass: per-slot last-query probability
}

func (a *attendState) init(s *Sequence) {
	a.s = s
	a.mainFn = a.mainBody
	a.tapFn = a.tapBody
	a.tapOff = make([]int, s.shape.KVHeads+1)
}

// minSplitBlocks is the fewest blocks a split range covers: below it the
// merge and scheduling cost more than the parallelism gains (a variable for
// tests).
var minSplitBlocks = 4

// Attend computes, for each query t (q: [T][Heads*HeadDim], at position
// pos[t]), softmax(Scale * q·K) V over the stored keys of the layer whose
// position is <= pos[t], writing out: [T][Heads*HeadDim]. Query head h reads
// kv head h/GroupSize. A query that sees no key gets zeros. On bad arguments
// it zeroes out and records the error for Err. p may be nil (serial).
// Steady-state calls allocate nothing.
//
// When the (query, kv-head) pairs are too few to keep p's workers busy
// (decode), each pair's block list is split into ranges attended
// independently; the partial (max, sum, acc) states are then merged exactly
// with the online-softmax rescale (flash-decoding).
func (s *Sequence) Attend(layer int, pos []int32, q, out []float32, p *parallel.Pool) {
	if err := s.checkAttend(layer, pos, q, out); err != nil {
		s.err = err
		clear(out)
		return
	}
	s.err = nil
	if len(pos) == 0 {
		return
	}
	a := &s.att
	sh := s.shape
	a.layer, a.pos, a.q, a.out = layer, pos, q, out
	a.fast = useAsm && sh.HeadDim%8 == 0
	taps := s.tapMass || s.tapLast
	if taps {
		a.tm = growF32(a.tm, len(pos)*sh.Heads)
		a.tinv = growF32(a.tinv, len(pos)*sh.Heads)
	}
	base := len(pos) * sh.KVHeads
	a.split = a.chooseSplit(base, p)
	units := base * a.split
	if a.split > 1 {
		G := sh.GroupSize()
		a.pm = growF32(a.pm, units*G)
		if cap(a.pl) < units*G {
			a.pl = make([]float64, units*G)
		}
		a.pl = a.pl[:units*G]
		a.pacc = growF32(a.pacc, units*G*sh.HeadDim)
	}
	a.run(p, units, a.mainFn)
	if a.split > 1 {
		a.merge(base)
	}
	if taps {
		a.run(p, a.prepareTaps(), a.tapFn)
	}
	a.pos, a.q, a.out = nil, nil, nil
}

// chooseSplit returns the number of block ranges per (query, kv-head) pair:
// 1 unless there are more workers than would be evenly busy with base units,
// then the smallest factor making base*split a multiple of the workers,
// limited so that each range keeps minSplitBlocks blocks.
func (a *attendState) chooseSplit(base int, p *parallel.Pool) int {
	if p == nil || p.Workers() <= 1 || base >= 4*p.Workers() || base%p.Workers() == 0 {
		return 1
	}
	nw := p.Workers()
	s := nw / gcd(base, nw)
	nb := 0
	kvh := a.s.shape.KVHeads
	for g := range kvh {
		nb = max(nb, len(a.s.tables[a.layer*kvh+g].blocks))
	}
	for s > 1 && nb/s < minSplitBlocks {
		s--
	}
	return s
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (s *Sequence) checkAttend(layer int, pos []int32, q, out []float32) error {
	if layer < 0 || layer >= s.shape.Layers {
		return fmt.Errorf("%w: attend: layer %d outside 0..%d", errArgs, layer, s.shape.Layers-1)
	}
	if w := len(pos) * s.shape.Heads * s.shape.HeadDim; len(q) != w || len(out) != w {
		return fmt.Errorf("%w: attend: %d queries need q, out of %d elements, got %d and %d", errArgs, len(pos), w, len(q), len(out))
	}
	return nil
}

// run executes units of work split over min(p.Workers(), units) workers; the
// body receives worker indices, each worker owning one scratch.
func (a *attendState) run(p *parallel.Pool, units int, body func(lo, hi int)) {
	if units == 0 {
		return
	}
	nw := 1
	if p != nil {
		nw = min(p.Workers(), units)
	}
	a.ensureWorkers(nw)
	a.units, a.nw = units, nw
	if nw == 1 {
		body(0, 1)
		return
	}
	p.For(nw, 1, body)
}

func (a *attendState) ensureWorkers(nw int) {
	sh, bs := a.s.shape, a.s.pool.bs
	g := sh.GroupSize()
	for len(a.work) < nw {
		a.work = append(a.work, workerScratch{
			sc:    make([]float32, bs),
			acc:   make([]float32, g*sh.HeadDim),
			m:     make([]float32, g),
			l:     make([]float64, g),
			kbuf:  make([]float32, bs*sh.HeadDim),
			vbuf:  make([]float32, bs*sh.HeadDim),
			tmass: make([]float32, bs),
			tlast: make([]float32, bs),
		})
	}
}

// mainBody runs workers [lo, hi); worker w takes units [w*U/nw, (w+1)*U/nw).
// Unit u is (query t, kv-head g, block range c) with c fastest.
func (a *attendState) mainBody(lo, hi int) {
	kvh, S := a.s.shape.KVHeads, a.split
	for w := lo; w < hi; w++ {
		for u := w * a.units / a.nw; u < (w+1)*a.units/a.nw; u++ {
			a.attendUnit(&a.work[w], u, u/(kvh*S), (u/S)%kvh, u%S)
		}
	}
}

// blockView is the first n slots of one block: raw binary16 K/V on the
// assembly path, float32 otherwise (F32 in place or F16 converted).
type blockView struct {
	kf, vf []float32
	kh, vh []uint16
	pos    []int32
	n      int
}

// view returns block id's first n slots for the kernels of this call.
func (a *attendState) view(w *workerScratch, id int32, n int, needV bool) blockView {
	p := a.s.pool
	bv := blockView{pos: p.blockPos(id, n), n: n}
	o, m := int(id)*p.bs*p.shape.HeadDim, n*p.shape.HeadDim
	switch {
	case p.dtype == F32:
		bv.kf, bv.vf = p.kf[o:o+m], p.vf[o:o+m]
	case a.fast:
		bv.kh, bv.vh = p.kh[o:o+m], p.vh[o:o+m]
	case needV:
		bv.kf, bv.vf = p.blockKV(id, n, w.kbuf, w.vbuf)
	default:
		bv.kf = p.blockK(id, n, w.kbuf)
	}
	return bv
}

// scores sets sc[j] = Scale * q·k_j for the n keys of bv. Both passes use
// it, so the tap pass reproduces the main pass's scores bit for bit.
func (a *attendState) scores(q []float32, bv *blockView, sc []float32) {
	hd, scale, n := len(q), a.s.shape.Scale, bv.n
	if n == 0 {
		return
	}
	switch {
	case a.fast && bv.kh != nil:
		if k := n &^ 7; k > 0 {
			scoresF16x8(&q[0], &bv.kh[0], k, hd, scale, &sc[0])
		}
		if k := n &^ 7; k < n {
			scoresF16(&q[0], &bv.kh[k*hd], n-k, hd, scale, &sc[k])
		}
	case a.fast:
		if k := n &^ 7; k > 0 {
			scoresF32x8(&q[0], &bv.kf[0], k, hd, scale, &sc[0])
		}
		if k := n &^ 7; k < n {
			scoresF32(&q[0], &bv.kf[k*hd], n-k, hd, scale, &sc[k])
		}
	default:
		for j := range n {
			sc[j] = dot(q, bv.kf[j*hd:(j+1)*hd]) * scale
		}
	}
}

// accum adds Σ_{lo<=j<hi} p[j] v_j to acc.
func (a *attendState) accum(acc, p []float32, bv *blockView, lo, hi int) {
	hd := len(acc)
	if hi <= lo {
		return
	}
	switch {
	case a.fast && bv.vh != nil:
		accumF16(&acc[0], &p[lo], &bv.vh[lo*hd], hi-lo, hd)
	case a.fast:
		accumF32(&acc[0], &p[lo], &bv.vf[lo*hd], hi-lo, hd)
	default:
		for j := lo; j < hi; j++ {
			axpy(acc, p[j], bv.vf[j*hd:(j+1)*hd])
		}
	}
}

// attendUnit attends query token t with the G query heads of kv-head g over
// block range c of a.split; u is the unit index (partial-state slot).
func (a *attendState) attendUnit(w *workerScratch, u, t, g, c int) {
	s, sh := a.s, a.s.shape
	hd, G, bs := sh.HeadDim, sh.GroupSize(), s.pool.bs
	tab := &s.tables[a.layer*sh.KVHeads+g]
	qpos := a.pos[t]
	qoff := t*sh.Heads*hd + g*G*hd // the group's heads are contiguous in q and out
	for i := range G {
		w.m[i], w.l[i] = negInf, 0
	}
	acc := w.acc[:G*hd]
	clear(acc)
	nb := min(len(tab.blocks), ceilDiv(tab.n, bs))
	for b := c * nb / a.split; b < (c+1)*nb/a.split; b++ {
		n := min(bs, tab.n-b*bs)
		id := tab.blocks[b]
		vis, all := visibility(s.pool.blockPos(id, n), qpos)
		if !vis {
			continue
		}
		bv := a.view(w, id, n, true)
		for i := range G {
			q := a.q[qoff+i*hd : qoff+(i+1)*hd]
			a.blockSoftmax(q, &bv, qpos, all, w.sc, &w.m[i], &w.l[i], acc[i*hd:(i+1)*hd])
		}
	}
	if a.split > 1 {
		copy(a.pm[u*G:(u+1)*G], w.m[:G])
		copy(a.pl[u*G:(u+1)*G], w.l[:G])
		copy(a.pacc[u*G*hd:(u+1)*G*hd], acc)
		return
	}
	for i := range G {
		a.finish(t*sh.Heads+g*G+i, w.m[i], w.l[i], acc[i*hd:(i+1)*hd])
	}
}

// finish writes the output of query-head row h (t*Heads + head) from its
// final softmax state and records the tap statistics.
func (a *attendState) finish(h int, m float32, l float64, acc []float32) {
	hd := len(acc)
	o := a.out[h*hd : (h+1)*hd]
	if l == 0 {
		clear(o)
	} else {
		inv := float32(1 / l)
		for e, x := range acc {
			o[e] = x * inv
		}
	}
	if a.s.tapMass || a.s.tapLast {
		a.tm[h], a.tinv[h] = m, 0
		if l != 0 {
			a.tinv[h] = float32(1 / l)
		}
	}
}

// merge combines the split partial states of each (query, kv-head) pair:
// with M the largest partial max, l = Σ l_c·e^(m_c-M) and acc = Σ acc_c·e^(m_c-M).
// It accumulates into the first range's slot.
func (a *attendState) merge(base int) {
	sh := a.s.shape
	G, hd, S := sh.GroupSize(), sh.HeadDim, a.split
	for pair := range base {
		t, g := pair/sh.KVHeads, pair%sh.KVHeads
		for i := range G {
			M := negInf
			for c := range S {
				M = max(M, a.pm[(pair*S+c)*G+i])
			}
			r0 := (pair*S)*G + i
			dst := a.pacc[r0*hd : (r0+1)*hd]
			var l float64
			if M != negInf {
				for c := range S {
					r := (pair*S+c)*G + i
					if a.pm[r] == negInf {
						continue
					}
					f := expShift(a.pm[r], M)
					l += a.pl[r] * float64(f)
					src := a.pacc[r*hd : (r+1)*hd]
					if c == 0 {
						scaleVec(dst, f)
					} else {
						axpy(dst, f, src)
					}
				}
			}
			if l == 0 { // nothing visible: the partial accumulators are all zero
				clear(dst)
			}
			a.finish(t*sh.Heads+g*G+i, M, l, dst)
		}
	}
}

// visibility reports whether any and whether all of the keys at positions kp
// are visible to a query at qpos.
func visibility(kp []int32, qpos int32) (anyVis, allVis bool) {
	allVis = true
	for _, p := range kp {
		if p <= qpos {
			anyVis = true
		} else {
			allVis = false
		}
	}
	return anyVis, allVis
}

func anyVisible(kp []int32, qpos int32) bool {
	for _, p := range kp {
		if p <= qpos {
			return true
		}
	}
	return false
}

// blockSoftmax folds one block bv into the online softmax state (m, l, acc)
// of one query head q [hd]. sc: [>= n] scratch.
func (a *attendState) blockSoftmax(q []float32, bv *blockView, qpos int32, allVis bool, sc []float32, m *float32, l *float64, acc []float32) {
	n := bv.n
	sc = sc[:n]
	a.scores(q, bv, sc)
	bm, masked := negInf, false
	// Plain compares, not max(): its NaN and signed-zero handling cost a
	// quarter of decode attention.
	if allVis { // the common case: one check per block, not per head
		for _, s := range sc {
			if s > bm {
				bm = s
			}
		}
	} else {
		for j, p := range bv.pos {
			if p > qpos {
				sc[j], masked = negInf, true
			} else if s := sc[j]; s > bm {
				bm = s
			}
		}
	}
	if bm == negInf {
		return
	}
	if bm > *m {
		if *m != negInf {
			r := expShift(*m, bm)
			*l *= float64(r)
			scaleVec(acc, r)
		}
		*m = bm
	}
	a.expBlock(sc, *m) // masked slots: exp(-Inf) = 0
	sum := 0.0
	for _, e := range sc {
		sum += float64(e)
	}
	*l += sum
	if !masked {
		a.accum(acc, sc, bv, 0, n)
		return
	}
	// Visible runs only: a masked slot's V never enters the sum.
	for j := 0; j < n; {
		if bv.pos[j] > qpos {
			j++
			continue
		}
		k := j
		for k < n && bv.pos[k] <= qpos {
			k++
		}
		a.accum(acc, sc, bv, j, k)
		j = k
	}
}

// expBlock sets sc[j] = e^(sc[j]-m) (0 for -Inf). Both passes use it, so the
// tap pass reproduces the main pass's weights. The assembly kernel and exp32
// agree within 2 ulp.
func (a *attendState) expBlock(sc []float32, m float32) {
	k := 0
	if a.fast {
		if k = len(sc) &^ 7; k > 0 {
			expShiftAVX2(&sc[0], k, m)
		}
	}
	for j := k; j < len(sc); j++ {
		sc[j] = expShift(sc[j], m)
	}
}

func growF32(a []float32, n int) []float32 {
	if cap(a) < n {
		return make([]float32, n)
	}
	return a[:n]
}
