package compress

import (
	"fmt"
	"time"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// Round reports one compression round of a sequence (zero when none fired).
type Round struct {
	Next          int32 // round position t (the position the next token takes)
	Tables        int   // tables compacted
	Before, After int   // tokens held over all tables before and after
	kvcache.CompactStats
	ScoreTime   time.Duration // policy scoring
	SelectTime  time.Duration // guards and top-k
	CompactTime time.Duration // moving slots and freeing blocks
}

// Fired reports whether the round compacted anything.
func (r Round) Fired() bool { return r.Tables > 0 }

// Totals accumulates the rounds of one request.
type Totals struct {
	Rounds int
	kvcache.CompactStats
	ScoreTime, SelectTime, CompactTime time.Duration
}

// Compressor drives compression of one sequence: the trigger, the policy's
// scores, per-table selection and compaction. Not safe for concurrent use;
// make a new one when the sequence is released and recomputed.
type Compressor struct {
	seq       *kvcache.Sequence
	mc        *model.Config
	cfg       Config
	pol       Policy
	never     bool
	promptLen int
	qw        *QueryWindow
	pool      *parallel.Pool

	newest []int // [table] length after the table's previous round (hole-fill's newestStart)
	scores Scores
	sel    Selector
	keep   []int
	pos    []int32
	totals Totals
}

// NewCompressor prepares compression of seq for a request with a prompt of
// promptLen tokens. cfg is resolved here (budget, period, guards with the
// defaults of cfg.Policy, compaction); pol does the scoring and normally
// comes from NewPolicy(cfg, mc), shared by all sequences. It turns on the
// kvcache taps the policy needs (mass for h2o, last attention for tova), so
// create it before the sequence's first forward step; when the policy needs
// queries, Queries() returns the recorder the engine must feed.
func NewCompressor(seq *kvcache.Sequence, mc *model.Config, pol Policy, cfg Config, promptLen int) (*Compressor, error) {
	if seq == nil || mc == nil || pol == nil {
		return nil, fmt.Errorf("compress: new compressor: nil sequence, model config or policy")
	}
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	if sh := seq.Shape(); sh.Layers != mc.Layers || sh.Heads != mc.Heads || sh.KVHeads != mc.KVHeads || sh.HeadDim != mc.HeadDim {
		return nil, fmt.Errorf("compress: cache shape %d layers x %d/%d heads x %d does not match the model's %d x %d/%d x %d",
			sh.Layers, sh.Heads, sh.KVHeads, sh.HeadDim, mc.Layers, mc.Heads, mc.KVHeads, mc.HeadDim)
	}
	if promptLen < 0 {
		return nil, fmt.Errorf("compress: prompt length %d", promptLen)
	}
	c := &Compressor{seq: seq, mc: mc, cfg: cfg, pol: pol, never: pol.Name() == "none", promptLen: promptLen}
	c.newest = make([]int, mc.Layers*mc.KVHeads)
	need := pol.Needs()
	mass, last := seq.TapsEnabled()
	if need.Mass && !mass {
		seq.EnableTaps(true)
	}
	if need.LastAttention && !last {
		seq.EnableLastAttention(true)
	}
	if need.QueryWindow > 0 {
		c.qw = NewQueryWindow(mc, need.QueryWindow)
	}
	return c, nil
}

// Config is the resolved configuration.
func (c *Compressor) Config() Config { return c.cfg }

// Queries is the query recorder the engine must feed from its Tap (see
// QueryWindow), or nil when the policy needs none.
func (c *Compressor) Queries() *QueryWindow { return c.qw }

// SetPool lets the policy score tables on p (nil: serially).
func (c *Compressor) SetPool(p *parallel.Pool) { c.pool = p }

// Totals is the sum of all rounds so far.
func (c *Compressor) Totals() Totals { return c.totals }

// Due reports whether a round would fire: some table holds >= B+N tokens.
func (c *Compressor) Due() bool {
	if c.never {
		return false
	}
	sh := c.seq.Shape()
	for l := range sh.Layers {
		for g := range sh.KVHeads {
			if c.seq.Table(l, g).Len() >= c.cfg.Budget+c.cfg.CompressEvery {
				return true
			}
		}
	}
	return false
}

// AfterStep runs a round when one is due; call it after every forward step
// of the sequence (prefill chunks included). It returns the zero Round when
// nothing fired.
func (c *Compressor) AfterStep() (Round, error) {
	if !c.Due() {
		return Round{}, nil
	}
	return c.Compress()
}

// Compress runs a round now: every table holding more than B tokens is cut
// to B. The "none" policy never compresses.
func (c *Compressor) Compress() (Round, error) {
	if c.never {
		return Round{}, nil
	}
	if c.qw != nil && c.qw.Err() != nil {
		return Round{}, fmt.Errorf("compress: query recorder: %w", c.qw.Err())
	}
	r := Round{Next: int32(c.seq.Len())}
	t0 := time.Now()
	c.sizeScores()
	in := Input{Seq: c.seq, Model: c.mc, PromptLen: c.promptLen, Next: r.Next, Queries: c.qw, Pool: c.pool}
	if err := c.pol.Scores(&in, c.scores); err != nil {
		return Round{}, fmt.Errorf("compress: %s scores: %w", c.pol.Name(), err)
	}
	r.ScoreTime = time.Since(t0)
	sh := c.seq.Shape()
	for l := range sh.Layers {
		for g := range sh.KVHeads {
			if err := c.compactTable(l, g, &r); err != nil {
				return r, err
			}
		}
	}
	c.totals.Rounds++
	c.totals.Add(r.CompactStats)
	c.totals.ScoreTime += r.ScoreTime
	c.totals.SelectTime += r.SelectTime
	c.totals.CompactTime += r.CompactTime
	return r, nil
}

// sizeScores sizes c.scores to the current table lengths, reusing memory.
func (c *Compressor) sizeScores() {
	sh := c.seq.Shape()
	if c.scores == nil {
		c.scores = make(Scores, sh.Layers)
		for l := range c.scores {
			c.scores[l] = make([][]float32, sh.KVHeads)
		}
	}
	for l := range sh.Layers {
		for g := range sh.KVHeads {
			n := c.seq.Table(l, g).Len()
			if cap(c.scores[l][g]) < n {
				c.scores[l][g] = make([]float32, n, n+c.cfg.CompressEvery)
			}
			c.scores[l][g] = c.scores[l][g][:n]
		}
	}
}

// compactTable selects and compacts table (l, g) when it exceeds the budget.
func (c *Compressor) compactTable(l, g int, r *Round) error {
	t := c.seq.Table(l, g)
	n := t.Len()
	r.Before += n
	if n <= c.cfg.Budget {
		r.After += n
		return nil
	}
	t0 := time.Now()
	c.pos = t.Positions(c.pos[:0])
	guards := Guards{Sinks: c.cfg.Sinks, Window: c.cfg.ProtectWindow}
	if c.cfg.ProtectPrompt {
		guards.PromptLen = c.promptLen
	}
	var err error
	c.keep, err = c.sel.Select(c.keep[:0], c.pos, c.scores[l][g], c.cfg.Budget, guards)
	if err != nil {
		return fmt.Errorf("compress: layer %d kv head %d: %w", l, g, err)
	}
	t1 := time.Now()
	var st kvcache.CompactStats
	i := l*c.mc.KVHeads + g
	if c.cfg.Compaction == CompactHoleFill {
		st, err = t.CompactHoleFill(c.keep, min(c.newest[i], n))
	} else {
		st, err = t.CompactRepack(c.keep)
	}
	if err != nil {
		return fmt.Errorf("compress: compact layer %d kv head %d: %w", l, g, err)
	}
	c.newest[i] = t.Len()
	r.SelectTime += t1.Sub(t0)
	r.CompactTime += time.Since(t1)
	r.Tables++
	r.After += t.Len()
	r.Add(st)
	return nil
}
