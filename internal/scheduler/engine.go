package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvpack/kvpack/internal/engine"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/sample"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

// Errors of Submit (wrapped; test with errors.Is).
var (
	ErrQueueFull = errors.New("request queue full")
	ErrClosed    = errors.New("engine closed")
	ErrInvalid   = errors.New("invalid request")
	// ErrContextLength is engine.ErrContextLength: prompt + max tokens exceed the context.
	ErrContextLength = engine.ErrContextLength
)

// Options configure an Engine. Zero values take the defaults.
type Options struct {
	MaxBatchTokens int         // token budget per step (default 512)
	MaxSeqs        int         // running sequences at most (default 16)
	MaxQueue       int         // requests waiting for their first step at most (default 64)
	Compressors    Compressors // optional KV compression
	// OnFirstToken and OnInterToken (optional) observe time to first token
	// and the gap between consecutive tokens of a request; they are called
	// on the engine goroutine and must be quick.
	OnFirstToken, OnInterToken func(time.Duration)
}

func (o *Options) defaults() {
	if o.MaxBatchTokens <= 0 {
		o.MaxBatchTokens = 512
	}
	if o.MaxSeqs <= 0 {
		o.MaxSeqs = 16
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 64
	}
}

// Stats is a snapshot of the engine's gauges and counters.
type Stats struct {
	Waiting, Running  int     // queue lengths after the latest step (submitted requests not yet taken count as waiting)
	KVUsage           float64 // used / total blocks, 0..1
	KVBlocks          int     // blocks in the pool
	BlockSize         int
	Preemptions       int64
	PromptTokens      int64 // prompt tokens of requests whose prefill finished (recomputation not counted)
	GenTokens         int64
	KVTokensEvicted   int64 // tokens evicted by compression (slots / tables)
	KVBlocksReclaimed int64
	CompactionSeconds float64
	CompressionRounds int64
}

// counters are written by the engine goroutine and read by Stats.
type counters struct {
	waiting, running                             atomic.Int64
	preemptions, prompt, gen, evicted, reclaimed atomic.Int64
	compactionNanos, rounds                      atomic.Int64
}

// Engine serves requests on one model with continuous batching. One
// goroutine (started by NewEngine, stopped by Close) owns the runner, the KV pool
// and the scheduler; Submit and Stats may be called from any goroutine.
type Engine struct {
	m       *model.Model
	r       *model.Runner
	pool    *kvcache.Pool
	sched   *Scheduler
	opt     Options
	tables  int
	submit  chan *request
	quit    chan struct{}
	done    chan struct{}
	closing sync.Once
	nextID  atomic.Uint64
	queued  atomic.Int64 // submitted, not yet admitted for the first time
	c       counters

	live  map[*Seq]*request // engine goroutine only
	batch model.Batch
	cur   []Work
	lpBuf []float32
}

// request is the engine's state of one Request.
type request struct {
	r        *Request
	seq      *Seq
	kv       *kvcache.Sequence
	out      *Stream
	sampler  *sample.Sampler
	dec      *tokenizer.StreamDecoder
	stops    *stopText
	comp     Compressor
	gen      int
	admitted bool // left the submission count (first admission or finish)
	arrival  time.Time
	last     time.Time
	usage    Usage
}

// NewEngine starts an engine on a model, a worker pool for its forward passes
// and a KV pool shaped for the model.
func NewEngine(m *model.Model, workers *parallel.Pool, pool *kvcache.Pool, opt Options) (*Engine, error) {
	opt.defaults()
	c := &m.Config
	if sh := pool.Shape(); sh.Layers != c.Layers || sh.KVHeads != c.KVHeads || sh.HeadDim != c.HeadDim || sh.Heads != c.Heads {
		return nil, fmt.Errorf("scheduler: kv pool shape %+v does not match the model", sh)
	}
	tables, bs := c.Layers*c.KVHeads, pool.BlockSize()
	sched, err := NewScheduler(Config{
		MaxBatchTokens: opt.MaxBatchTokens, MaxSeqs: opt.MaxSeqs, TotalBlocks: pool.Total(),
		BlocksFor: func(n int) int { return tables * ((n + bs - 1) / bs) },
	})
	if err != nil {
		return nil, err
	}
	e := &Engine{
		m: m, r: model.NewRunner(m, workers), pool: pool, sched: sched, opt: opt, tables: tables,
		submit: make(chan *request, opt.MaxQueue), quit: make(chan struct{}), done: make(chan struct{}),
		live: map[*Seq]*request{},
	}
	if opt.Compressors != nil {
		e.r.Tap = e.tap
	}
	go e.loop()
	return e, nil
}

// Model is the served model.
func (e *Engine) Model() *model.Model { return e.m }

// Pool is the KV pool.
func (e *Engine) Pool() *kvcache.Pool { return e.pool }

// Options are the resolved options.
func (e *Engine) Options() Options { return e.opt }

// Submit validates r and queues it. Errors: ErrInvalid (bad arguments),
// ErrContextLength (prompt + MaxTokens beyond the context), ErrTooLarge (the
// prompt can never fit the KV pool), ErrQueueFull (MaxQueue requests already
// wait), ErrClosed; a compression choice the Compressors reject is returned
// wrapped in ErrInvalid.
func (e *Engine) Submit(r *Request) (*Stream, error) {
	if err := e.check(r); err != nil {
		return nil, err
	}
	if e.queued.Add(1) > int64(e.opt.MaxQueue) {
		e.queued.Add(-1)
		return nil, fmt.Errorf("%w: %d requests already wait (--max-queue)", ErrQueueFull, e.opt.MaxQueue)
	}
	q := &request{r: r, out: newStream(), sampler: sample.New(r.Sample), arrival: time.Now()}
	q.seq = &Seq{ID: e.nextID.Add(1), Tokens: append(make([]int32, 0, len(r.Prompt)+r.MaxTokens), r.Prompt...),
		PromptLen: len(r.Prompt), req: q}
	select {
	case <-e.quit:
		e.queued.Add(-1)
		return nil, ErrClosed
	default:
	}
	select {
	case e.submit <- q: // never blocks: queued bounds the channel's load
		return q.out, nil
	case <-e.quit:
		e.queued.Add(-1)
		return nil, ErrClosed
	}
}

// check validates a request against the model and the pool.
func (e *Engine) check(r *Request) error {
	c := &e.m.Config
	switch {
	case r.Ctx == nil:
		return fmt.Errorf("%w: no context", ErrInvalid)
	case len(r.Prompt) == 0:
		return fmt.Errorf("%w: empty prompt", ErrInvalid)
	case r.MaxTokens < 1:
		return fmt.Errorf("%w: max tokens must be >= 1, got %d", ErrInvalid, r.MaxTokens)
	case r.TopLogprobs < 0 || r.TopLogprobs > maxTopLogprobs:
		return fmt.Errorf("%w: top logprobs must be in 0..%d, got %d", ErrInvalid, maxTopLogprobs, r.TopLogprobs)
	}
	for _, id := range r.Prompt {
		if id < 0 || int(id) >= c.Vocab {
			return fmt.Errorf("%w: token id %d outside the vocabulary (0..%d)", ErrInvalid, id, c.Vocab-1)
		}
	}
	if err := r.Sample.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(r.Prompt) > c.Context {
		return fmt.Errorf("%w: prompt of %d tokens, the context holds %d", ErrContextLength, len(r.Prompt), c.Context)
	}
	if need := len(r.Prompt) + r.MaxTokens - 1; need > c.Context {
		return fmt.Errorf("%w: prompt of %d tokens + %d new tokens needs %d positions, the context holds %d",
			ErrContextLength, len(r.Prompt), r.MaxTokens, need, c.Context)
	}
	if need := e.sched.cfg.BlocksFor(len(r.Prompt)); need > e.pool.Total() {
		return fmt.Errorf("%w: %d prompt tokens need %d kv blocks, the pool has %d (raise --kv-cache-size or --kv-blocks)",
			ErrTooLarge, len(r.Prompt), need, e.pool.Total())
	}
	if r.Compression != nil && e.opt.Compressors == nil {
		return fmt.Errorf("%w: kv compression is not enabled on this engine", ErrInvalid)
	}
	if e.opt.Compressors != nil {
		if err := e.opt.Compressors.Check(r.Compression); err != nil {
			return fmt.Errorf("%w: kv_compression: %w", ErrInvalid, err)
		}
	}
	return nil
}

// Stats returns a snapshot of gauges and counters.
func (e *Engine) Stats() Stats {
	ps := e.pool.Stats()
	return Stats{
		Waiting: int(e.c.waiting.Load()), Running: int(e.c.running.Load()),
		KVUsage: float64(ps.Used) / float64(ps.Total), KVBlocks: ps.Total, BlockSize: ps.BlockSize,
		Preemptions: e.c.preemptions.Load(), PromptTokens: e.c.prompt.Load(), GenTokens: e.c.gen.Load(),
		KVTokensEvicted: e.c.evicted.Load(), KVBlocksReclaimed: e.c.reclaimed.Load(),
		CompactionSeconds: time.Duration(e.c.compactionNanos.Load()).Seconds(), CompressionRounds: e.c.rounds.Load(),
	}
}

// Close stops the engine: queued and running requests finish with
// FinishError (ErrClosed) and their blocks are released. Safe to call twice.
func (e *Engine) Close() {
	e.closing.Do(func() { close(e.quit) })
	<-e.done
}

// loop is the engine goroutine.
func (e *Engine) loop() {
	defer close(e.done)
	defer e.shutdown()
	for e.intake() {
		e.reap()
		p := e.sched.Schedule()
		e.c.waiting.Store(int64(e.sched.Waiting() + len(e.submit)))
		e.c.running.Store(int64(e.sched.Running()))
		e.apply(&p)
		if len(p.Work) == 0 {
			if !e.sched.Empty() {
				time.Sleep(time.Millisecond) // nothing runnable yet; should not happen
			}
			continue
		}
		e.step(p.Work)
	}
}

// intake takes submitted requests: it blocks while there is nothing to do.
// It reports false when the engine is closing.
func (e *Engine) intake() bool {
	if e.sched.Empty() {
		e.c.waiting.Store(0)
		e.c.running.Store(0)
		select {
		case q := <-e.submit:
			e.add(q)
		case <-e.quit:
			return false
		}
	}
	for {
		select {
		case q := <-e.submit:
			e.add(q)
		case <-e.quit:
			return false
		default:
			return true
		}
	}
}

// add queues a submitted request in the scheduler.
func (e *Engine) add(q *request) {
	q.kv = kvcache.NewSequence(e.pool)
	q.seq.KV = q.kv
	q.dec = e.m.Tokenizer.NewStreamDecoder()
	q.stops = newStopText(q.r.Stop)
	if err := e.sched.Add(q.seq); err != nil {
		e.finish(q, FinishError, err)
		return
	}
	e.live[q.seq] = q
}

// reap aborts requests whose context ended, freeing their blocks now.
func (e *Engine) reap() {
	for s, q := range e.live {
		if q.r.Ctx.Err() != nil {
			e.sched.Abort(s)
			e.finish(q, FinishCancelled, context.Cause(q.r.Ctx))
		}
	}
}

// shutdown finishes every request left when the engine stops.
func (e *Engine) shutdown() {
	for s, q := range e.live {
		e.sched.Abort(s)
		e.finish(q, FinishError, ErrClosed)
	}
	for {
		select {
		case q := <-e.submit:
			q.out.push(Event{Finish: FinishError, Err: ErrClosed, Usage: &Usage{PromptTokens: len(q.r.Prompt)}})
		default:
			return
		}
	}
}
