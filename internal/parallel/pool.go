// Package parallel runs data-parallel loops on a fixed set of long-lived worker
// goroutines, so hot kernels never spawn goroutines per call.
package parallel

import (
	"runtime"
	"sync"
)

// Pool splits index ranges across a fixed number of workers. The calling
// goroutine takes part in the work, so a Pool of n workers starts n-1 goroutines.
// A Pool is safe for use by one caller at a time; For calls from several
// goroutines are serialized.
type Pool struct {
	n     int
	mu    sync.Mutex
	tasks []chan task
	wg    sync.WaitGroup
}

type task struct {
	fn     func(lo, hi int)
	lo, hi int
}

// New starts a pool of n workers; n <= 0 means GOMAXPROCS.
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{n: n}
	for i := 1; i < n; i++ {
		ch := make(chan task, 1)
		p.tasks = append(p.tasks, ch)
		go p.worker(ch)
	}
	return p
}

// Workers is the number of workers, the caller included.
func (p *Pool) Workers() int { return p.n }

func (p *Pool) worker(ch chan task) {
	for t := range ch {
		t.fn(t.lo, t.hi)
		p.wg.Done()
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
	parts := p.n
	if units < parts {
		parts = units
	}
	if parts <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		lo, hi := split(units, parts, i, grain, n)
		p.tasks[i-1] <- task{fn, lo, hi}
	}
	lo, hi := split(units, parts, 0, grain, n)
	fn(lo, hi)
	p.wg.Wait()
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
	for _, ch := range p.tasks {
		close(ch)
	}
	p.tasks = nil
}
