package eval

import (
	"fmt"
	"time"
)

// FidelityOptions configure a teacher-forced fidelity run.
type FidelityOptions struct {
	Prefill, Tokens int // P prompt tokens, then T teacher-forced steps
	Chunk           int // prefill chunk
	SampleEvery     int // memory series sampling period in steps (default 8)
	Progress        func(done, total int)
}

// FidelityRow is the result of one lane.
type FidelityRow struct {
	Name, Policy                 string
	Budget, Steps                int
	MeanKL, MaxKL, Top1          float64
	PPL, RefPPL, PPLRatio        float64
	Rounds, Evicted, BlocksFreed int
	FinalBytes, UncompactedBytes int64
	CompressSeconds              float64
}

// Series is one lane's KV memory over the teacher-forced steps.
type Series struct {
	Name        string
	Steps       []int   // tokens generated (teacher-forced) so far
	Bytes       []int64 // KV bytes held (compaction frees blocks)
	Uncompacted []int64 // bytes held had evicted tokens stayed in place
}

// FidelityResult is a whole run.
type FidelityResult struct {
	Prefill, Tokens int
	Seconds         float64
	Rows            []FidelityRow
	Memory          []Series
}

// Fidelity prefills text[:P] into every lane, then feeds text[P:P+T] one token
// at a time, comparing each lane's next-token distribution with lane 0's
// (which must be the full cache) at every step.
func Fidelity(set *Set, text []int32, opt FidelityOptions) (*FidelityResult, error) {
	if len(text) < opt.Prefill+opt.Tokens || opt.Prefill < 1 || opt.Tokens < 1 {
		return nil, fmt.Errorf("eval: fidelity needs %d+%d tokens of text, have %d", opt.Prefill, opt.Tokens, len(text))
	}
	if set.Lanes[0].Spec.Policy != "none" {
		return nil, fmt.Errorf("eval: fidelity: lane 0 must be the full cache")
	}
	opt.SampleEvery = max(opt.SampleEvery, 1)
	t0 := time.Now()
	logits, err := set.Prefill(text[:opt.Prefill], max(opt.Chunk, 1))
	if err != nil {
		return nil, err
	}
	fs := newFidelityState(set)
	for j := 0; j < opt.Tokens; j++ {
		if j > 0 {
			if logits, err = set.Step(set.Same(text[opt.Prefill+j-1 : opt.Prefill+j])); err != nil {
				return nil, err
			}
		}
		fs.compare(logits, text[opt.Prefill+j])
		if j%opt.SampleEvery == 0 || j == opt.Tokens-1 {
			fs.sample(set, j)
		}
		if opt.Progress != nil {
			opt.Progress(j+1, opt.Tokens)
		}
	}
	res := &FidelityResult{Prefill: opt.Prefill, Tokens: opt.Tokens, Seconds: time.Since(t0).Seconds(), Memory: fs.series}
	for i, l := range set.Lanes {
		res.Rows = append(res.Rows, fidelityRow(l, &fs.aggs[i], fs.series[i]))
	}
	return res, nil
}

type fidelityState struct {
	aggs   []Agg
	lp     [][]float64
	series []Series
	pos    []int32
}

func newFidelityState(set *Set) *fidelityState {
	fs := &fidelityState{aggs: make([]Agg, len(set.Lanes)), lp: make([][]float64, len(set.Lanes))}
	for _, l := range set.Lanes {
		fs.series = append(fs.series, Series{Name: l.Spec.Name()})
	}
	return fs
}

func (fs *fidelityState) compare(logits [][]float32, target int32) {
	for i, lg := range logits {
		fs.lp[i] = LogSoftmax(fs.lp[i], lg)
	}
	refTop := Argmax(logits[0])
	for i, lg := range logits {
		fs.aggs[i].Add(fs.lp[0], fs.lp[i], refTop, Argmax(lg), target)
	}
}

func (fs *fidelityState) sample(set *Set, step int) {
	for i, l := range set.Lanes {
		s := &fs.series[i]
		s.Steps = append(s.Steps, step)
		s.Bytes = append(s.Bytes, l.Bytes())
		s.Uncompacted = append(s.Uncompacted, l.UncompactedBytes(fs.pos))
	}
}

func fidelityRow(l *Lane, a *Agg, s Series) FidelityRow {
	t := l.Comp.Totals()
	return FidelityRow{
		Name: l.Spec.Name(), Policy: l.Spec.Policy, Budget: l.Spec.Budget, Steps: a.Steps,
		MeanKL: a.MeanKL(), MaxKL: a.KLMax, Top1: a.Top1(), PPL: a.PPL(), RefPPL: a.RefPPL(), PPLRatio: a.PPLRatio(),
		Rounds: t.Rounds, Evicted: t.Evicted, BlocksFreed: t.BlocksFreed,
		FinalBytes: s.Bytes[len(s.Bytes)-1], UncompactedBytes: s.Uncompacted[len(s.Uncompacted)-1],
		CompressSeconds: l.Busy.Seconds(),
	}
}
