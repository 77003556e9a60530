package eval

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// Spec is one compared configuration: a policy at a budget ("none" = full cache).
type Spec struct {
	Policy string
	Budget int
}

// Name is "full" for the full cache, else "policy@budget".
func (s Spec) Name() string {
	if s.Policy == "none" {
		return "full"
	}
	return fmt.Sprintf("%s@%d", s.Policy, s.Budget)
}

// Specs crosses a policy list with a budget list; "none" appears once, first.
func Specs(policies, budgets string) ([]Spec, error) {
	out := []Spec{{Policy: "none"}}
	bs, err := ParseInts(budgets)
	if err != nil {
		return nil, err
	}
	for _, p := range strings.Split(policies, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "none" || p == "" {
			continue
		}
		for _, b := range bs {
			out = append(out, Spec{Policy: p, Budget: b})
		}
	}
	return out, nil
}

// ParseInts reads a comma-separated list of positive integers.
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("eval: bad number %q in list %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// Setup describes a set of lanes run side by side.
type Setup struct {
	Model  *model.Model
	Pool   *parallel.Pool
	Base   compress.Config // CompressEvery, Stats, Compaction, ... shared by all lanes
	Specs  []Spec
	Tokens int // most positions any lane will hold
	Chunk  int // prefill chunk (bounds what a compressed lane holds between rounds)
}

// Lane is one sequence of a Set with its own pool and compressor.
type Lane struct {
	Spec  Spec
	Pool  *kvcache.Pool
	Seq   *kvcache.Sequence
	Comp  *compress.Compressor
	Round compress.Totals // rounds so far
	Busy  time.Duration   // time spent in AfterStep
}

// newLane makes the lane of spec with a pool sized to what it can hold.
func newLane(su *Setup, sp Spec, pols map[compress.Config]compress.Policy, promptLen int) (*Lane, error) {
	mc := &su.Model.Config
	cfg := su.Base
	cfg.Policy, cfg.Budget = sp.Policy, sp.Budget
	if sp.Policy != "triattention" {
		cfg.Stats = ""
	}
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", sp.Name(), err)
	}
	held := su.Tokens
	if sp.Policy != "none" {
		held = min(held, cfg.Budget+cfg.CompressEvery+max(su.Chunk, 1))
	}
	shape := kvcache.Shape{Layers: mc.Layers, Heads: mc.Heads, KVHeads: mc.KVHeads, HeadDim: mc.HeadDim, Scale: mc.AttnScale}
	bs := kvcache.DefaultBlockSize
	pool, err := kvcache.NewPool(shape, kvcache.Options{BlockSize: bs, DType: kvcache.F16, Blocks: mc.Layers * mc.KVHeads * (held/bs + 2)})
	if err != nil {
		return nil, fmt.Errorf("eval: %s pool: %w", sp.Name(), err)
	}
	pol, ok := pols[cfg]
	if !ok {
		if pol, err = compress.NewPolicy(cfg, mc); err != nil {
			return nil, fmt.Errorf("eval: %s: %w", sp.Name(), err)
		}
		pols[cfg] = pol
	}
	seq := kvcache.NewSequence(pool)
	comp, err := compress.NewCompressor(seq, mc, pol, cfg, promptLen)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", sp.Name(), err)
	}
	return &Lane{Spec: sp, Pool: pool, Seq: seq, Comp: comp}, nil
}

// Bytes is the KV memory the lane holds now.
func (l *Lane) Bytes() int64 { return l.Seq.Bytes() }

// UncompactedBytes is what the lane would hold had evicted tokens been left
// as holes in place (no compaction): a block is freed only when every token
// it ever held was evicted. Tokens are appended in position order, so
// without compaction position p sits in block p / blockSize of its table.
func (l *Lane) UncompactedBytes(scratch []int32) int64 {
	sh, bs := l.Seq.Shape(), int32(l.Pool.BlockSize())
	blocks := 0
	for ly := range sh.Layers {
		for g := range sh.KVHeads {
			scratch = l.Seq.Table(ly, g).Positions(scratch[:0])
			slices.Sort(scratch) // hole-fill compaction does not keep position order
			last := int32(-1)
			for _, p := range scratch {
				if b := p / bs; b != last {
					blocks, last = blocks+1, b
				}
			}
		}
	}
	return int64(blocks) * l.Pool.BlockBytes()
}

// Release frees the lane's blocks.
func (l *Lane) Release() { l.Seq.Release() }

func spanOf(l *Lane, start, end int) model.Span {
	return model.Span{KV: l.Seq, Start: start, End: end}
}
