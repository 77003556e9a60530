package kvcache

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/parallel"
)

// Paged attention with an online (streaming) softmax over blocks.
//
// Work unit = (query token t, kv-head g). A unit walks the blocks of table
// (layer, g) once; for each block it converts K/V to float32 if needed (F16)
// and lets all G query heads of the group use it (GQA reuse). Per head it
// keeps a running max m, a running sum l (float64) and an accumulator
// acc [HeadDim]; the only score storage is one block of raw scores.
// Keys whose stored position exceeds the query's position are masked, so slot
// order does not matter (hole-filling compaction scrambles it).

// attendState holds the arguments of the running call (so the parallel
// bodies are method values bound once, with no per-call closure) and the
// scratch of each worker.
type attendState struct {
	s *Sequence

	layer  int
	pos    []int32
	q, out []float32
	units  int // work units of the running pass
	nw     int // workers of the running pass

	work          []workerScratch
	mainFn, tapFn func(lo, hi int)
	tm            []float32 // [T*Heads] final running max per (query, head), for the tap pass
	tinv          []float32 // [T*Heads] 1/(final sum of exponentials) per (query, head); 0 = nothing visible
	tapOff        []int     // [KVHeads+1] first tap unit of each kv-head
}

// workerScratch is one worker's preallocated scratch.
type workerScratch struct {
	sc         []float32 // [bs] raw scores of one block for one head
	acc        []float32 // [G*HeadDim] running weighted sums of V
	m          []float32 // [G] running max
	l          []float64 // [G] running sum of exp(score - m)
	kbuf, vbuf []float32 // [bs*HeadDim] F16 -> F32 conversion of one block
}

func (a *attendState) init(s *Sequence) {
	a.s = s
	a.mainFn = a.mainBody
	a.tapFn = a.tapBody
	a.tapOff = make([]int, s.shape.KVHeads+1)
}

// Attend computes, for each query t (q: [T][Heads*HeadDim], at position
// pos[t]), softmax(Scale * q·K) V over the stored keys of the layer whose
// position is <= pos[t], writing out: [T][Heads*HeadDim]. Query head h reads
// kv head h/GroupSize. A query that sees no key gets zeros. On bad arguments
// it zeroes out and records the error for Err. p may be nil (serial).
// Steady-state calls allocate nothing.
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
	a.layer, a.pos, a.q, a.out = layer, pos, q, out
	taps := s.tapMass || s.tapLast
	if taps {
		a.tm = growF32(a.tm, len(pos)*s.shape.Heads)
		a.tinv = growF32(a.tinv, len(pos)*s.shape.Heads)
	}
	a.run(p, len(pos)*s.shape.KVHeads, a.mainFn)
	if taps {
		a.run(p, a.prepareTaps(), a.tapFn)
	}
	a.pos, a.q, a.out = nil, nil, nil
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
			sc:   make([]float32, bs),
			acc:  make([]float32, g*sh.HeadDim),
			m:    make([]float32, g),
			l:    make([]float64, g),
			kbuf: make([]float32, bs*sh.HeadDim),
			vbuf: make([]float32, bs*sh.HeadDim),
		})
	}
}

// mainBody runs workers [lo, hi); worker w takes units [w*U/nw, (w+1)*U/nw).
func (a *attendState) mainBody(lo, hi int) {
	kvh := a.s.shape.KVHeads
	for w := lo; w < hi; w++ {
		for u := w * a.units / a.nw; u < (w+1)*a.units/a.nw; u++ {
			a.attendUnit(&a.work[w], u/kvh, u%kvh)
		}
	}
}

// attendUnit attends query token t with the G query heads of kv-head g.
func (a *attendState) attendUnit(w *workerScratch, t, g int) {
	s, sh := a.s, a.s.shape
	p, hd, G, bs := s.pool, sh.HeadDim, sh.GroupSize(), s.pool.bs
	tab := &s.tables[a.layer*sh.KVHeads+g]
	qpos := a.pos[t]
	qoff := t*sh.Heads*hd + g*G*hd // the group's heads are contiguous in q and out
	for i := range G {
		w.m[i], w.l[i] = negInf, 0
	}
	acc := w.acc[:G*hd]
	clear(acc)
	for b, id := range tab.blocks {
		n := min(bs, tab.n-b*bs)
		if n <= 0 {
			break
		}
		kp := p.blockPos(id, n)
		if !anyVisible(kp, qpos) {
			continue
		}
		kb, vb := p.blockKV(id, n, w.kbuf, w.vbuf)
		for i := range G {
			q := a.q[qoff+i*hd : qoff+(i+1)*hd]
			blockSoftmax(q, kb, vb, kp, qpos, sh.Scale, w.sc, &w.m[i], &w.l[i], acc[i*hd:(i+1)*hd])
		}
	}
	for i := range G {
		o := a.out[qoff+i*hd : qoff+(i+1)*hd]
		if w.l[i] == 0 {
			clear(o)
		} else {
			inv := float32(1 / w.l[i])
			for e, x := range acc[i*hd : (i+1)*hd] {
				o[e] = x * inv
			}
		}
		if s.tapMass || s.tapLast {
			h := t*sh.Heads + g*G + i
			a.tm[h], a.tinv[h] = w.m[i], 0
			if w.l[i] != 0 {
				a.tinv[h] = float32(1 / w.l[i])
			}
		}
	}
}

func anyVisible(kp []int32, qpos int32) bool {
	for _, p := range kp {
		if p <= qpos {
			return true
		}
	}
	return false
}

// blockSoftmax folds one block (k, v: [n][hd], positions kp: [n]) into the
// online softmax state (m, l, acc) of one query head q [hd]. sc: [>= n] scratch.
func blockSoftmax(q, k, v []float32, kp []int32, qpos int32, scale float32, sc []float32, m *float32, l *float64, acc []float32) {
	hd := len(q)
	bm := negInf
	for j, p := range kp {
		if p > qpos {
			sc[j] = negInf
			continue
		}
		x := dot(q, k[j*hd:(j+1)*hd]) * scale
		sc[j] = x
		bm = max(bm, x)
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
	mm, sum := *m, 0.0
	for j := range kp {
		if sc[j] == negInf {
			continue
		}
		e := expShift(sc[j], mm)
		sum += float64(e)
		axpy(acc, e, v[j*hd:(j+1)*hd])
	}
	*l += sum
}

func growF32(a []float32, n int) []float32 {
	if cap(a) < n {
		return make([]float32, n)
	}
	return a[:n]
}
