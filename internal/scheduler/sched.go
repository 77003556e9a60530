package scheduler

import (
	"errors"
	"fmt"
	"slices"

	"github.com/kvpack/kvpack/internal/kvcache"
)

// ErrTooLarge is returned (wrapped) by Add for a sequence whose prompt can
// never fit the KV pool, even with every other sequence gone.
var ErrTooLarge = errors.New("prompt does not fit the kv cache")

// KV is a sequence's cache as the scheduler sees it. *kvcache.Sequence
// implements it.
type KV interface {
	// Reserve makes room for n more tokens, all or nothing; it returns an
	// error wrapping kvcache.ErrCacheFull when the pool lacks blocks. It is
	// not cumulative (see kvcache.Sequence.Reserve).
	Reserve(n int) error
	// Release frees every block; the sequence restarts empty.
	Release()
}

// Config bounds one step.
type Config struct {
	MaxBatchTokens int // token budget per step (max_num_batched_tokens), >= 1
	MaxSeqs        int // running sequences at most (max_seqs), >= 1
	// TotalBlocks and BlocksFor size the pool: BlocksFor(n) is the number of
	// blocks n tokens of one uncompressed sequence take. Add rejects prompts
	// with BlocksFor(len) > TotalBlocks.
	TotalBlocks int
	BlocksFor   func(tokens int) int
}

// Seq is one request's token state. Tokens holds the prompt then every
// generated token; Computed of them have their K/V in the cache. The
// scheduler owns the queues; the engine appends sampled tokens.
type Seq struct {
	ID          uint64
	Tokens      []int32
	PromptLen   int
	Computed    int
	KV          KV
	Preemptions int // times this sequence was preempted

	req *request // engine state (nil in scheduler-only use)
}

// Remaining is the number of tokens whose K/V still have to be computed.
func (q *Seq) Remaining() int { return len(q.Tokens) - q.Computed }

// Work is one sequence's share of a step: compute Tokens[Start:Start+N] at
// positions Start.. and, when Sample is set (the chunk reaches the last known
// token), sample the next token from the last row's logits.
type Work struct {
	Seq      *Seq
	Start, N int
	Sample   bool
}

// Plan is what one step does. Work lists running sequences in queue order
// (admitted ones last). Preempted sequences went back to the front of the
// waiting queue with their blocks released. Exhausted sequences were removed:
// alone in the pool they still could not grow (the engine finishes them with
// "length"). Failed ones were removed after an unexpected KV error.
type Plan struct {
	Work      []Work
	Admitted  []*Seq
	Preempted []*Seq
	Exhausted []*Seq
	Failed    []Failure
}

// Failure is a sequence dropped with an error.
type Failure struct {
	Seq *Seq
	Err error
}

// Tokens is the number of tokens the plan computes.
func (p *Plan) Tokens() int {
	n := 0
	for _, w := range p.Work {
		n += w.N
	}
	return n
}

// Scheduler holds the waiting and running queues. It is not safe for
// concurrent use: the engine goroutine owns it.
type Scheduler struct {
	cfg         Config
	waiting     []*Seq // FIFO; preempted sequences go to the front
	running     []*Seq // admission order: oldest first, newest last
	preemptions int
}

// NewScheduler makes a scheduler; it rejects a config that could never run a token.
func NewScheduler(cfg Config) (*Scheduler, error) {
	if cfg.MaxBatchTokens < 1 || cfg.MaxSeqs < 1 || cfg.TotalBlocks < 1 || cfg.BlocksFor == nil {
		return nil, fmt.Errorf("scheduler: bad config: max batch tokens %d, max seqs %d, %d blocks (need all >= 1 and BlocksFor)",
			cfg.MaxBatchTokens, cfg.MaxSeqs, cfg.TotalBlocks)
	}
	return &Scheduler{cfg: cfg}, nil
}

// Add queues a new sequence at the back of the waiting queue. It fails with
// ErrTooLarge when the prompt alone needs more blocks than the pool has.
func (s *Scheduler) Add(q *Seq) error {
	if len(q.Tokens) == 0 || q.KV == nil {
		return fmt.Errorf("scheduler: sequence %d has no tokens or no kv", q.ID)
	}
	if need := s.cfg.BlocksFor(len(q.Tokens)); need > s.cfg.TotalBlocks {
		return fmt.Errorf("%w: %d tokens need %d kv blocks, the pool has %d", ErrTooLarge, len(q.Tokens), need, s.cfg.TotalBlocks)
	}
	s.waiting = append(s.waiting, q)
	return nil
}

// Waiting and Running are the queue lengths; Preemptions counts every
// preemption so far.
func (s *Scheduler) Waiting() int     { return len(s.waiting) }
func (s *Scheduler) Running() int     { return len(s.running) }
func (s *Scheduler) Preemptions() int { return s.preemptions }

// Empty reports whether both queues are empty.
func (s *Scheduler) Empty() bool { return len(s.waiting) == 0 && len(s.running) == 0 }

// Schedule plans the next step: running sequences first (oldest first), each
// taking min(remaining, budget left) tokens, preempting the newest running
// ones while the pool is short; then, if nothing was preempted, waiting
// sequences in FIFO order while budget, sequence slots and blocks allow.
// Every planned chunk has its blocks reserved.
func (s *Scheduler) Schedule() Plan {
	var p Plan
	budget := s.cfg.MaxBatchTokens
	for i := 0; i < len(s.running) && budget > 0; {
		q := s.running[i]
		n := min(q.Remaining(), budget)
		if n <= 0 {
			i++
			continue
		}
		if !s.fit(q, n, &p) {
			continue // q left the running queue; running[i] is the next one
		}
		p.Work = append(p.Work, Work{Seq: q, Start: q.Computed, N: n, Sample: n == q.Remaining()})
		budget -= n
		i++
	}
	if len(p.Preempted) == 0 {
		s.admit(&p, budget)
	}
	return p
}

// fit reserves n tokens for running sequence q, preempting the newest
// running sequences while the pool is short. It reports false when q itself
// left the running queue (preempted, exhausted or failed).
func (s *Scheduler) fit(q *Seq, n int, p *Plan) bool {
	for {
		err := q.KV.Reserve(n)
		if err == nil {
			return true
		}
		if !errors.Is(err, kvcache.ErrCacheFull) {
			s.drop(q)
			p.Failed = append(p.Failed, Failure{q, fmt.Errorf("scheduler: reserve %d tokens: %w", n, err)})
			return false
		}
		victim := s.running[len(s.running)-1]
		if victim == q && len(s.running) == 1 {
			s.drop(q)
			p.Exhausted = append(p.Exhausted, q)
			return false
		}
		s.preempt(victim, p)
		if victim == q {
			return false
		}
	}
}

// admit moves waiting sequences to running while budget, slots and blocks allow.
func (s *Scheduler) admit(p *Plan, budget int) {
	for len(s.waiting) > 0 && budget > 0 && len(s.running) < s.cfg.MaxSeqs {
		q := s.waiting[0]
		n := min(q.Remaining(), budget)
		if err := q.KV.Reserve(n); err != nil {
			if !errors.Is(err, kvcache.ErrCacheFull) {
				s.waiting = s.waiting[1:]
				q.KV.Release()
				p.Failed = append(p.Failed, Failure{q, fmt.Errorf("scheduler: reserve %d tokens: %w", n, err)})
				continue
			}
			if len(s.running) == 0 { // alone in an empty pool and still short
				s.waiting = s.waiting[1:]
				q.KV.Release()
				p.Exhausted = append(p.Exhausted, q)
				continue
			}
			return // head of line waits for blocks
		}
		s.waiting = s.waiting[1:]
		s.running = append(s.running, q)
		p.Admitted = append(p.Admitted, q)
		p.Work = append(p.Work, Work{Seq: q, Start: q.Computed, N: n, Sample: n == q.Remaining()})
		budget -= n
	}
}

// preempt releases a running sequence's blocks and puts it at the front of
// the waiting queue to be recomputed from scratch.
func (s *Scheduler) preempt(q *Seq, p *Plan) {
	s.running = slices.DeleteFunc(s.running, func(x *Seq) bool { return x == q })
	q.KV.Release()
	q.Computed = 0
	q.Preemptions++
	s.preemptions++
	s.waiting = slices.Insert(s.waiting, 0, q)
	p.Preempted = append(p.Preempted, q)
}

// drop removes q from the running queue and releases its blocks.
func (s *Scheduler) drop(q *Seq) {
	s.running = slices.DeleteFunc(s.running, func(x *Seq) bool { return x == q })
	q.KV.Release()
}

// Advance records that a step computed w: Computed grows by w.N. The engine
// appends the sampled token (when w.Sample) itself.
func (s *Scheduler) Advance(w Work) { w.Seq.Computed = w.Start + w.N }

// Finish removes a running sequence after its last token and releases its blocks.
func (s *Scheduler) Finish(q *Seq) { s.drop(q) }

// Abort removes q from whichever queue holds it and frees its blocks at once
// (a cancelled request). It reports whether q was queued.
func (s *Scheduler) Abort(q *Seq) bool {
	n := len(s.waiting) + len(s.running)
	s.waiting = slices.DeleteFunc(s.waiting, func(x *Seq) bool { return x == q })
	s.running = slices.DeleteFunc(s.running, func(x *Seq) bool { return x == q })
	q.KV.Release()
	return len(s.waiting)+len(s.running) < n
}
