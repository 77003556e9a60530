package scheduler

import (
	"context"
	"sync"

	"github.com/kvpack/kvpack/internal/sample"
)

// Finish reasons, as the OpenAI API spells them (plus two of kvpack's own).
const (
	FinishStop      = "stop"      // end-of-generation token or a stop string
	FinishLength    = "length"    // max tokens reached, or the KV pool cannot hold the sequence even alone
	FinishCancelled = "cancelled" // the request's context ended
	FinishError     = "error"     // Event.Err says why
)

// Compression selects a per-request KV compression policy. The zero value
// means the engine's default.
type Compression struct {
	Policy string // registry name, e.g. "triattention", "streaming", "none"
	Budget int    // tokens kept per table after a round; 0: the default
}

// Request is one generation. Prompt must not be empty; MaxTokens >= 1.
type Request struct {
	Ctx         context.Context // cancelling it aborts the request and frees its blocks
	Prompt      []int32
	MaxTokens   int
	Sample      sample.Params
	Stop        []string // stop strings; the matched text is not emitted
	IgnoreEOS   bool
	Logprobs    bool // report the chosen token's log probability
	TopLogprobs int  // also the k most likely tokens (0..20)
	Compression *Compression
}

// TokenLogprob is one generated token with its log probability (natural log,
// temperature 1, before truncation) and optionally the most likely alternatives.
type TokenLogprob struct {
	ID      int32
	Text    []byte // the token's bytes (may be part of a multi-byte character)
	Logprob float32
	Top     []TopLogprob
}

// TopLogprob is one alternative token.
type TopLogprob struct {
	ID      int32
	Text    []byte
	Logprob float32
}

// Usage reports a finished request.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	Preemptions      int
	KVTokensEvicted  int   // tokens evicted by compression (per table, averaged over tables)
	KVBlocksFreed    int   // blocks compaction returned to the pool
	KVPeakBytes      int64 // most KV memory the sequence held at once
}

// Event is one piece of a request's output. Text is the newly released text
// (stop strings and bytes that may still become one are held back); Tokens
// are the tokens sampled since the previous event (with logprobs when asked).
// The last event has Finish set, and Usage (and Err for FinishError).
type Event struct {
	Text   string
	Tokens []TokenLogprob
	Finish string
	Usage  *Usage
	Err    error
}

// Stream delivers a request's events. The engine never blocks on it: events
// queue without bound (a request emits at most MaxTokens+1 of them).
type Stream struct {
	mu     sync.Mutex
	events []Event
	done   bool
	notify chan struct{} // capacity 1: "something new"
}

func newStream() *Stream { return &Stream{notify: make(chan struct{}, 1)} }

// push queues an event (engine side).
func (s *Stream) push(e Event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	if e.Finish != "" {
		s.done = true
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next waits for events and returns all queued ones; ok is false once the
// final event has been returned or ctx ended.
func (s *Stream) Next(ctx context.Context) (events []Event, ok bool) {
	for {
		s.mu.Lock()
		events, s.events = s.events, nil
		done := s.done
		s.mu.Unlock()
		if len(events) > 0 {
			return events, true
		}
		if done {
			return nil, false
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// Collect waits for the whole output: the concatenated text, all tokens and
// the final event (Finish, Usage, Err). It returns ctx's error when ctx ends first.
func (s *Stream) Collect(ctx context.Context) (text string, tokens []TokenLogprob, last Event, err error) {
	var b []byte
	for {
		evs, ok := s.Next(ctx)
		if !ok {
			if last.Finish == "" {
				return string(b), tokens, last, context.Cause(ctx)
			}
			return string(b), tokens, last, nil
		}
		for _, e := range evs {
			b = append(b, e.Text...)
			tokens = append(tokens, e.Tokens...)
			if e.Finish != "" {
				last = e
			}
		}
	}
}
