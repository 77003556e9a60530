// Package parallel runs data-parallel loops on a fixed set of long-lived worker
// goroutines, so hot kernels never spawn goroutines per call.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool splits index ranges across a fixed number of workers. The calling
// goroutine takes part in the work, so a Pool of n workers starts n-1
// goroutines. For calls from several goroutines are serialized.
type Pool struct {
	n       int
	mu      sync.Mutex
	workers []*worker
	closed  atomic.Bool
}

// worker is one helper goroutine; posted and done count tasks.
type worker struct {
	posted, done atomic.Uint64
	sleeping     atomic.Bool
	wake         chan struct{}
	fn           func(lo, hi int)
	lo, hi       int
}

// New starts a pool of n workers; n <= 0 means GOMAXPROCS.
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{n: n}
	for i := 1; i < n; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w)
	}
	return p
}

// Workers is the number of workers, the caller included.
func (p *Pool) Workers() int { return p.n }

func (p *Pool) loop(w *worker) {
	var seen uint64
	for {
		if !p.await(w, seen) {
			return
		}
		seen++
		w.fn(w.lo, w.hi)
		w.fn = nil
		w.done.Store(seen)
	}
}

// await returns once task seen+1 is posted (true) or the pool closed (false).
func (p *Pool) await(w *worker, seen uint64) bool {
	for i := 0; ; i++ {
		if w.posted.Load() > seen {
			return true
		}
		if p.closed.Load() {
			return false
		}
		if i < spinLimit {
			continue
		}
		w.sleeping.Store(true)
		if w.posted.Load() > seen || p.closed.Load() {
			w.sleeping.Store(false)
			continue
		}
		<-w.wake
		w.sleeping.Store(false)
	}
}

// For calls fn over [0,n) split into at most Workers() contiguous chunks whose
// boundaries are multiples of grain (except the last). It returns when all
// chunks are done.
func (p *Pool) For(n, grain int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	units := (n + grain - 1) / grain
	parts := min(p.n, units)
	if parts <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 1; i < parts; i++ {
		w := p.workers[i-1]
		w.fn = fn
		w.lo, w.hi = split(units, parts, i, grain, n)
		w.posted.Add(1)
		if w.sleeping.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	lo, hi := split(units, parts, 0, grain, n)
	fn(lo, hi)
	for i := 1; i < parts; i++ {
		w := p.workers[i-1]
		for j := 0; w.done.Load() != w.posted.Load(); j++ {
			if j >= spinLimit {
				runtime.Gosched()
			}
		}
	}
}

func split(units, parts, i, grain, n int) (int, int) {
	lo := units * i / parts * grain
	hi := units * (i + 1) / parts * grain
	if hi > n {
		hi = n
	}
	return lo, hi
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.closed.Store(true)
	for _, w := range p.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}
