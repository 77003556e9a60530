// Package engine drives a model over sequences: prefill in chunks, decode token
// by token, sample, stop. It owns no weights and no KV memory of its own.
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/sample"
)

// ErrContextLength is returned when prompt plus requested tokens exceed the context.
var ErrContextLength = errors.New("context length exceeded")

// Reserver is implemented by KV stores that allocate memory ahead of a forward
// pass (the paged cache): Reserve(n) makes room for n more tokens in every table,
// all or nothing, so a forward never fails half-way through its layers.
type Reserver interface {
	Reserve(n int) error
}

// forward reserves room for the batch's tokens (when kv supports it) and runs it.
func forward(r *model.Runner, kv model.KV, b *model.Batch) ([]float32, error) {
	if res, ok := kv.(Reserver); ok {
		if err := res.Reserve(len(b.Tokens)); err != nil {
			return nil, err
		}
	}
	return r.Forward(b)
}

// Options controls one generation.
type Options struct {
	MaxTokens    int // tokens to generate
	Sample       sample.Params
	IgnoreEOS    bool // keep generating past end-of-generation tokens
	PrefillChunk int  // prompt tokens per forward pass (default 256)
	Context      int  // maximum positions (default: the model's trained context)
	// AfterStep, when set, runs after every forward pass (prefill chunks
	// included): this is where KV compression evicts and compacts.
	AfterStep func() error
}

// Stats reports what a generation did and how long it took.
type Stats struct {
	PromptTokens, GenTokens int
	Prefill, Decode         time.Duration
	StopReason              string // "length", "eos" or "cancelled"
}

// PrefillTokPerSec and DecodeTokPerSec are throughputs; 0 when nothing ran.
func (s Stats) PrefillTokPerSec() float64 { return rate(s.PromptTokens, s.Prefill) }

// DecodeTokPerSec counts decode steps (the first generated token comes from prefill).
func (s Stats) DecodeTokPerSec() float64 { return rate(s.GenTokens-1, s.Decode) }

func rate(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Generate prefills prompt into kv and generates up to opt.MaxTokens tokens,
// calling onToken for each one as soon as it is sampled. An error from onToken
// stops generation and is returned.
func Generate(ctx context.Context, r *model.Runner, kv model.KV, prompt []int32, opt Options, onToken func(id int32) error) (st Stats, err error) {
	st.PromptTokens = len(prompt)
	if err := checkLengths(r.M, prompt, &opt); err != nil {
		return st, err
	}
	smp := sample.New(opt.Sample)
	history := append(make([]int32, 0, len(prompt)+opt.MaxTokens), prompt...)
	t0 := time.Now()
	logits, err := prefill(r, kv, prompt, opt)
	if err != nil {
		return st, err
	}
	st.Prefill = time.Since(t0)
	t1 := time.Now()
	defer func() { st.Decode = time.Since(t1) }()
	for st.GenTokens < opt.MaxTokens {
		id := smp.Sample(logits, history)
		history = append(history, id)
		st.GenTokens++
		if err := onToken(id); err != nil {
			return st, err
		}
		if !opt.IgnoreEOS && r.M.Tokenizer.IsEOG(id) {
			st.StopReason = "eos"
			return st, nil
		}
		if st.GenTokens == opt.MaxTokens {
			break
		}
		if err := ctx.Err(); err != nil {
			st.StopReason = "cancelled"
			return st, err
		}
		pos := int32(len(history) - 1)
		b := model.Batch{Tokens: []int32{id}, Pos: []int32{pos}, Spans: []model.Span{{KV: kv, End: 1}}, Logits: []int{0}}
		if logits, err = forward(r, kv, &b); err != nil {
			return st, err
		}
		if err := afterStep(opt); err != nil {
			return st, err
		}
	}
	st.StopReason = "length"
	return st, nil
}

func checkLengths(m *model.Model, prompt []int32, opt *Options) error {
	if opt.Context <= 0 {
		opt.Context = m.Config.Context
	}
	if opt.PrefillChunk <= 0 {
		opt.PrefillChunk = 256
	}
	if len(prompt) == 0 {
		return fmt.Errorf("empty prompt: nothing to condition on")
	}
	if opt.MaxTokens < 1 {
		return fmt.Errorf("max tokens must be >= 1, got %d", opt.MaxTokens)
	}
	if err := opt.Sample.Validate(); err != nil {
		return err
	}
	if need := len(prompt) + opt.MaxTokens - 1; need > opt.Context {
		return fmt.Errorf("%w: prompt of %d tokens + %d new tokens needs %d positions, the context holds %d",
			ErrContextLength, len(prompt), opt.MaxTokens, need, opt.Context)
	}
	return nil
}

// prefill runs the prompt through the model in chunks and returns the logits
// after its last token.
func afterStep(opt Options) error {
	if opt.AfterStep == nil {
		return nil
	}
	if err := opt.AfterStep(); err != nil {
		return fmt.Errorf("kv compression: %w", err)
	}
	return nil
}

func prefill(r *model.Runner, kv model.KV, prompt []int32, opt Options) ([]float32, error) {
	chunk := opt.PrefillChunk
	var logits []float32
	for start := 0; start < len(prompt); start += chunk {
		end := min(start+chunk, len(prompt))
		pos := make([]int32, end-start)
		for i := range pos {
			pos[i] = int32(start + i)
		}
		b := model.Batch{Tokens: prompt[start:end], Pos: pos, Spans: []model.Span{{KV: kv, End: end - start}}}
		if end == len(prompt) {
			b.Logits = []int{end - start - 1}
		}
		var err error
		if logits, err = forward(r, kv, &b); err != nil {
			return nil, fmt.Errorf("prefill tokens %d..%d: %w", start, end, err)
		}
		if err := afterStep(opt); err != nil {
			return nil, err
		}
	}
	return logits, nil
}
