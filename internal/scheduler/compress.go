package scheduler

import (
	"fmt"
	"sync"
	"time"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// Compressors makes the per-sequence KV compressors of an engine. Check runs
// on request goroutines; New runs on the engine goroutine.
type Compressors interface {
	// Check validates a request's choice (nil: the default) before it is queued.
	Check(spec *Compression) error
	// New makes the compressor of a fresh (or freshly preempted) sequence
	// with a prompt of promptLen tokens; a nil Compressor means none.
	New(seq *kvcache.Sequence, promptLen int, spec *Compression) (Compressor, error)
}

// Compressor is one sequence's compression driver, run after each step of
// the sequence (prefill chunks included).
type Compressor interface {
	AfterStep() (Round, error)
	// Record receives the sequence's pre-RoPE queries of one layer
	// (q: [len(pos)][Heads*HeadDim]) during the forward pass.
	Record(layer int, pos []int32, q []float32)
}

// Round is what one compression step did (zero when nothing fired).
type Round struct {
	Evicted     int           // token slots evicted, summed over tables
	BlocksFreed int           // blocks returned to the pool
	Compaction  time.Duration // time spent moving slots and freeing blocks
	Total       time.Duration // scoring + selection + compaction
}

// Policies implements Compressors with internal/compress: the default
// configuration plus per-request overrides of policy and budget. Policies
// (TriAttention loads its statistics file once) are built once per resolved
// configuration and shared.
type Policies struct {
	mc      *model.Config
	def     compress.Config
	workers *parallel.Pool

	mu    sync.Mutex
	cache map[compress.Config]compress.Policy
}

// NewPolicies checks the default configuration and builds its policy.
// workers (optional) scores tables in parallel on the engine goroutine.
func NewPolicies(mc *model.Config, def compress.Config, workers *parallel.Pool) (*Policies, error) {
	p := &Policies{mc: mc, def: def, workers: workers, cache: map[compress.Config]compress.Policy{}}
	if _, _, err := p.policy(nil); err != nil {
		return nil, err
	}
	return p, nil
}

// config merges a request's override into the default.
func (p *Policies) config(spec *Compression) compress.Config {
	cfg := p.def
	if spec == nil {
		return cfg
	}
	if spec.Policy != "" && spec.Policy != cfg.Policy {
		cfg.Policy = spec.Policy
		cfg.ProtectWindow, cfg.Sinks = 0, 0 // the new policy's own guard defaults
	}
	if spec.Budget != 0 {
		cfg.Budget = spec.Budget
	}
	return cfg
}

// policy resolves the configuration of spec and returns its (cached) policy.
func (p *Policies) policy(spec *Compression) (compress.Config, compress.Policy, error) {
	cfg, err := p.config(spec).Resolve()
	if err != nil {
		return cfg, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if pol, ok := p.cache[cfg]; ok {
		return cfg, pol, nil
	}
	pol, err := compress.NewPolicy(cfg, p.mc)
	if err != nil {
		return cfg, nil, err
	}
	p.cache[cfg] = pol
	return cfg, pol, nil
}

// Check implements Compressors.
func (p *Policies) Check(spec *Compression) error {
	_, _, err := p.policy(spec)
	return err
}

// New implements Compressors; the "none" policy gets no compressor.
func (p *Policies) New(seq *kvcache.Sequence, promptLen int, spec *Compression) (Compressor, error) {
	cfg, pol, err := p.policy(spec)
	if err != nil {
		return nil, err
	}
	if pol.Name() == "none" {
		return nil, nil
	}
	c, err := compress.NewCompressor(seq, p.mc, pol, cfg, promptLen)
	if err != nil {
		return nil, fmt.Errorf("scheduler: compressor: %w", err)
	}
	c.SetPool(p.workers)
	return &seqCompressor{c: c}, nil
}

// seqCompressor adapts *compress.Compressor.
type seqCompressor struct{ c *compress.Compressor }

func (s *seqCompressor) AfterStep() (Round, error) {
	r, err := s.c.AfterStep()
	if err != nil {
		return Round{}, err
	}
	return Round{
		Evicted: r.Evicted, BlocksFreed: r.BlocksFreed, Compaction: r.CompactTime,
		Total: r.ScoreTime + r.SelectTime + r.CompactTime,
	}, nil
}

func (s *seqCompressor) Record(layer int, pos []int32, q []float32) {
	if qw := s.c.Queries(); qw != nil {
		qw.Tap(layer, pos, q, nil)
	}
}
