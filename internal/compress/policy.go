package compress

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// Needs lists what a sequence must record for a policy to score it.
// NewCompressor turns the kvcache taps on by itself; the query recorder must be
// fed by the engine (see Compressor.Queries).
type Needs struct {
	Mass          bool // cumulative attention mass per slot: Sequence.EnableTaps(true) (H2O)
	LastAttention bool // last query's attention per slot: Sequence.EnableLastAttention(true) (TOVA)
	QueryWindow   int  // recent pre-RoPE queries per layer to record in a QueryWindow (SnapKV, R-KV); 0 = none
}

// Scores holds one score per slot of every table: [layer][kvHead][slot], with
// len(s[l][g]) == Table(l, g).Len(). Higher means keep. NaN counts as -Inf.
type Scores [][][]float32

// Input is what a policy may read in a round. Policies must not modify Seq.
type Input struct {
	Seq       *kvcache.Sequence
	Model     *model.Config
	PromptLen int            // prompt tokens: positions [0, PromptLen)
	Next      int32          // round position t: the position the next token takes (Seq.Len())
	Queries   *QueryWindow   // recorded queries, when Needs().QueryWindow > 0
	Pool      *parallel.Pool // optional workers for scoring; nil runs serially
}

// Policy scores the cached tokens of a sequence; Select turns scores into
// keep-sets. A Policy holds only read-only state after construction, so one
// instance may serve many Compressors (and goroutines) at once.
type Policy interface {
	// Name is the registry name.
	Name() string
	// Needs says which recorders the sequence must run.
	Needs() Needs
	// Scores fills dst for every slot of every table (dst is pre-sized to the
	// table lengths; see Scores).
	Scores(in *Input, dst Scores) error
}

// Factory builds a policy for a resolved Config and a model.
type Factory func(cfg Config, mc *model.Config) (Policy, error)

// entry is one registered policy with its guard defaults.
type entry struct {
	factory       Factory
	window, sinks int // defaults of Config.ProtectWindow and Config.Sinks
}

// registry maps policy names to their factories and defaults.
var registry = map[string]entry{
	"none":         {newNone, 0, 0},
	"streaming":    {newStreaming, 8, 4},
	"h2o":          {newH2O, 8, 0},
	"tova":         {newTOVA, 8, 0},
	"snapkv":       {newSnapKV, snapWindow, 0},
	"rkv":          {newRKV, snapWindow, 0},
	"triattention": {newTriAttentionFromConfig, 128, 0},
}

// Names lists the registered policies, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the factory of a registered policy.
func Lookup(name string) (Factory, error) {
	e, ok := registry[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("compress: unknown policy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return e.factory, nil
}

// NewPolicy resolves cfg and builds its policy for the model (for
// triattention this loads and checks the statistics file). Build it once per
// model and configuration and share it between sequences.
func NewPolicy(cfg Config, mc *model.Config) (Policy, error) {
	if mc == nil {
		return nil, fmt.Errorf("compress: no model config")
	}
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	p, err := registry[cfg.Policy].factory(cfg, mc)
	if err != nil {
		return nil, fmt.Errorf("compress: policy %s: %w", cfg.Policy, err)
	}
	return p, nil
}

// checkDst verifies that dst matches the sequence's table lengths.
func checkDst(seq *kvcache.Sequence, dst Scores) error {
	sh := seq.Shape()
	if len(dst) != sh.Layers {
		return fmt.Errorf("compress: scores for %d layers, sequence has %d", len(dst), sh.Layers)
	}
	for l := range sh.Layers {
		if len(dst[l]) != sh.KVHeads {
			return fmt.Errorf("compress: scores for %d kv heads in layer %d, want %d", len(dst[l]), l, sh.KVHeads)
		}
		for g := range sh.KVHeads {
			if n := seq.Table(l, g).Len(); len(dst[l][g]) != n {
				return fmt.Errorf("compress: %d scores for table (%d, %d) of %d slots", len(dst[l][g]), l, g, n)
			}
		}
	}
	return nil
}

// eachTable calls fn for every (layer, kv-head), on in.Pool when set, and
// returns the first error in table order.
func eachTable(in *Input, fn func(l, g int) error) error {
	sh := in.Seq.Shape()
	n := sh.Layers * sh.KVHeads
	errs := make([]error, n)
	body := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			errs[i] = fn(i/sh.KVHeads, i%sh.KVHeads)
		}
	}
	if in.Pool == nil {
		body(0, n)
	} else {
		in.Pool.For(n, 1, body)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readKeys reads every key of a table into buf ([n][HeadDim], grown as
// needed) and its positions into pos.
func readKeys(t *kvcache.Table, hd int, buf []float32, pos []int32) ([]float32, []int32, error) {
	n := t.Len()
	buf = slices.Grow(buf[:0], n*hd)[:n*hd]
	pos = pos[:0]
	for i := range n {
		p, err := t.Key(i, buf[i*hd:(i+1)*hd])
		if err != nil {
			return nil, nil, fmt.Errorf("compress: read key %d: %w", i, err)
		}
		pos = append(pos, p)
	}
	return buf, pos, nil
}
