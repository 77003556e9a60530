package model

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/tensor"
)

// Span is a run of consecutive batch tokens that belong to one sequence.
type Span struct {
	KV         KV
	Start, End int // token indices [Start, End) in the batch
}

// Batch is the input of one forward pass: tokens of one or more sequences.
type Batch struct {
	Tokens []int32
	Pos    []int32 // absolute position (RoPE angle) of each token
	Spans  []Span  // which KV each token range attends with; must cover all tokens
	Logits []int   // token indices whose next-token logits are wanted, in output order
}

// Tap receives the pre-RoPE query and key of every layer: q [T][Heads*HeadDim],
// k [T][KVHeads*HeadDim] (after biases and q/k norms, exactly what enters RoPE).
// The slices are only valid during the call.
type Tap func(layer int, pos []int32, q, k []float32)

// Runner runs forward passes of one model. It owns scratch buffers, so one
// Runner serves one caller at a time.
type Runner struct {
	M    *Model
	Pool *parallel.Pool
	Tap  Tap // optional

	s      scratch
	rc     ropeCache
	act    actCache
	mm     mmArgs
	mmFn   func(lo, hi int)
	siluFn func(lo, hi int)
}

// NewRunner prepares a runner on a worker pool.
func NewRunner(m *Model, p *parallel.Pool) *Runner {
	return &Runner{M: m, Pool: p}
}

// Forward runs the batch through the model and returns the logits of the
// requested tokens: [len(b.Logits)][Vocab]. The slice is reused by the next call.
func (r *Runner) Forward(b *Batch) ([]float32, error) {
	if err := r.check(b); err != nil {
		return nil, err
	}
	c := &r.M.Config
	T := len(b.Tokens)
	s := r.s.ensure(c, T, len(b.Logits))
	for t, id := range b.Tokens {
		if err := tensor.DequantizeRow(r.M.TokEmbd.Type, r.M.TokEmbd.Row(int(id)), s.x[t*c.Dim:(t+1)*c.Dim]); err != nil {
			return nil, fmt.Errorf("embedding of token %d: %w", id, err)
		}
	}
	r.act.pool = r.Pool
	r.rc.prepare(c, b.Pos)
	for l := range r.M.Layers {
		if err := r.layer(l, b, T); err != nil {
			return nil, err
		}
	}
	return r.logits(b), nil
}

func (r *Runner) check(b *Batch) error {
	c := &r.M.Config
	if len(b.Tokens) == 0 || len(b.Pos) != len(b.Tokens) {
		return fmt.Errorf("forward: %d tokens with %d positions", len(b.Tokens), len(b.Pos))
	}
	for _, id := range b.Tokens {
		if id < 0 || int(id) >= c.Vocab {
			return fmt.Errorf("forward: token id %d outside the vocabulary (0..%d)", id, c.Vocab-1)
		}
	}
	next := 0
	for _, sp := range b.Spans {
		if sp.Start != next || sp.End <= sp.Start || sp.KV == nil {
			return fmt.Errorf("forward: spans must tile the batch in order")
		}
		next = sp.End
	}
	if next != len(b.Tokens) {
		return fmt.Errorf("forward: spans cover %d of %d tokens", next, len(b.Tokens))
	}
	for _, i := range b.Logits {
		if i < 0 || i >= len(b.Tokens) {
			return fmt.Errorf("forward: logits requested for token %d of %d", i, len(b.Tokens))
		}
	}
	return nil
}

func (r *Runner) layer(li int, b *Batch, T int) error {
	c, L, s := &r.M.Config, &r.M.Layers[li], &r.s
	qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	rmsNormRows(s.xn, s.x, L.AttnNorm, c.Dim, T, c.NormEps)
	r.act.reset(s.xn, T, c.Dim)
	r.matmul(&L.Wq, s.q, T)
	r.matmul(&L.Wk, s.k, T)
	r.matmul(&L.Wv, s.v, T)
	addBias(s.q, L.Bq, T)
	addBias(s.k, L.Bk, T)
	addBias(s.v, L.Bv, T)
	if c.QKNorm {
		rmsNormRows(s.q, s.q, L.QNorm, c.HeadDim, T*c.Heads, c.NormEps)
		rmsNormRows(s.k, s.k, L.KNorm, c.HeadDim, T*c.KVHeads, c.NormEps)
	}
	if r.Tap != nil {
		r.Tap(li, b.Pos, s.q[:T*qd], s.k[:T*kvd])
	}
	r.rc.apply(c, s.q, T, c.Heads)
	r.rc.apply(c, s.k, T, c.KVHeads)
	for _, sp := range b.Spans {
		k, v := s.k[sp.Start*kvd:sp.End*kvd], s.v[sp.Start*kvd:sp.End*kvd]
		if err := sp.KV.Store(li, b.Pos[sp.Start:sp.End], k, v); err != nil {
			return err
		}
		sp.KV.Attend(li, b.Pos[sp.Start:sp.End], s.q[sp.Start*qd:sp.End*qd], s.att[sp.Start*qd:sp.End*qd], r.Pool)
	}
	r.act.reset(s.att, T, qd)
	r.matmul(&L.Wo, s.xn, T)
	addInto(s.x, s.xn, T*c.Dim)
	rmsNormRows(s.xn, s.x, L.FFNNorm, c.Dim, T, c.NormEps)
	r.act.reset(s.xn, T, c.Dim)
	r.matmul(&L.Wgate, s.gate, T)
	r.matmul(&L.Wup, s.up, T)
	r.siluMulPar(T * c.FFN)
	r.act.reset(s.gate, T, c.FFN)
	r.matmul(&L.Wdown, s.xn, T)
	addInto(s.x, s.xn, T*c.Dim)
	return nil
}

func (r *Runner) logits(b *Batch) []float32 {
	c, s := &r.M.Config, &r.s
	n := len(b.Logits)
	if n == 0 {
		return nil
	}
	for i, t := range b.Logits {
		copy(s.last[i*c.Dim:(i+1)*c.Dim], s.x[t*c.Dim:(t+1)*c.Dim])
	}
	rmsNormRows(s.last, s.last, r.M.OutNorm, c.Dim, n, c.NormEps)
	r.act.reset(s.last, n, c.Dim)
	r.matmul(&r.M.Output, s.logits, n)
	return s.logits[:n*c.Vocab]
}

// matmul computes out[t][row] = W[row]·x[t] for the T activation rows held by
// the activation cache, splitting rows across the pool. The per-call arguments
// live in r.mm so the worker body is a method value bound once (no closure
// allocation per call).
func (r *Runner) matmul(w *Matrix, out []float32, T int) {
	xq, _ := r.act.get(w.Type)
	r.mm = mmArgs{w: w, out: out, xq: xq, T: T, rb: w.Type.RowBytes(w.Cols)}
	if r.mmFn == nil {
		r.mmFn = r.mmBody
	}
	r.Pool.For(w.Rows, 16, r.mmFn)
}

// mmArgs are the operands of the matmul in flight.
type mmArgs struct {
	w     *Matrix
	out   []float32
	xq    []byte
	T, rb int
}

func (r *Runner) mmBody(lo, hi int) {
	a := &r.mm
	tensor.MatMul(a.w.Type, a.w.Data[lo*a.rb:hi*a.rb], hi-lo, a.w.Cols, a.xq, a.T, a.out[lo:], a.w.Rows)
}

// siluMulPar runs siluMul over the first n gate/up entries on the pool (a
// prefill's FFN activations are large enough to be worth splitting).
func (r *Runner) siluMulPar(n int) {
	if r.siluFn == nil {
		r.siluFn = func(lo, hi int) { siluMul(r.s.gate[lo:hi], r.s.up[lo:hi], hi-lo) }
	}
	r.Pool.For(n, 8192, r.siluFn)
}

// actCache holds the current activation rows quantized to each vec-dot type,
// so q, k and v (or gate and up) quantize their shared input once.
type actCache struct {
	x    []float32
	T, n int
	bufs map[tensor.DType][]byte
	done map[tensor.DType]bool

	pool *parallel.Pool
	qt   tensor.DType // weight type of the quantization in flight
	qbuf []byte       // its output, T rows
	qfn  func(lo, hi int)
}

func (a *actCache) reset(x []float32, T, n int) {
	a.x, a.T, a.n = x, T, n
	if a.bufs == nil {
		a.bufs, a.done = map[tensor.DType][]byte{}, map[tensor.DType]bool{}
	}
	clear(a.done)
}

func (a *actCache) get(wt tensor.DType) ([]byte, int) {
	vt := tensor.VecDotType(wt)
	rb := vt.RowBytes(a.n)
	if !a.done[vt] {
		buf := a.bufs[vt]
		if cap(buf) < rb*a.T {
			buf = make([]byte, rb*a.T)
		}
		a.qt, a.qbuf = wt, buf[:rb*a.T]
		if a.qfn == nil {
			a.qfn = a.quantizeRows
		}
		if a.pool != nil && a.T >= 8 {
			a.pool.For(a.T, 4, a.qfn)
		} else {
			a.quantizeRows(0, a.T)
		}
		a.bufs[vt], a.done[vt] = a.qbuf, true
	}
	return a.bufs[vt], rb
}

// quantizeRows quantizes activation rows [lo, hi) for the call in flight.
func (a *actCache) quantizeRows(lo, hi int) {
	rb := tensor.VecDotType(a.qt).RowBytes(a.n)
	for t := lo; t < hi; t++ {
		tensor.QuantizeActivations(a.qt, a.x[t*a.n:(t+1)*a.n], a.qbuf[t*rb:(t+1)*rb])
	}
}
