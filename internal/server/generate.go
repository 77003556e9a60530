package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/kvpack/kvpack/internal/sample"
	"github.com/kvpack/kvpack/internal/scheduler"
)

// Limits of request fields.
const (
	maxStops     = 16
	maxStopBytes = 256
)

// formatter turns engine events into one endpoint's response objects. It
// is stateful per request (completions logprobs count text offsets).
type formatter interface {
	head() any                                                                 // first stream chunk, or nil
	chunk(text string, toks []scheduler.TokenLogprob) any                      // a stream chunk for new text/tokens, or nil
	finish(reason string) any                                                  // the stream chunk carrying the finish reason
	usage(u *scheduler.Usage) any                                              // the stream's usage chunk (stream_options.include_usage)
	body(text string, toks []scheduler.TokenLogprob, last scheduler.Event) any // the non-streaming response
}

// job is one parsed generation request.
type job struct {
	req          scheduler.Request
	stream       bool
	includeUsage bool
	promptParam  string
}

// readJSON reads the size-limited body into v and clears the read deadline,
// so ReadTimeout bounds the request's arrival, not the generation after it.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return decodeError(err)
	}
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	if len(body) == 0 {
		return decodeError(errEmptyBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// params turns the shared fields into j.req (everything but the prompt, which
// must already be in j.req.Prompt). maxTokens is the explicit limit (nil when
// absent); defMax is the default when absent (capped by the context).
func (s *Server) params(c *commonParams, j *job, maxTokens *int, defMax int) *apiError {
	if err := s.checkModel(c.Model); err != nil {
		return err
	}
	if e := unsupported(c); e != nil {
		return e
	}
	sp, e := samplingParams(c)
	if e != nil {
		return e
	}
	j.req.Sample = sp
	if e := s.lengths(j, maxTokens, defMax); e != nil {
		return e
	}
	if len(c.Stop) > maxStops {
		return invalid(codeInvalidValue, "stop", "at most %d stop sequences, got %d", maxStops, len(c.Stop))
	}
	for _, st := range c.Stop {
		if len(st) > maxStopBytes {
			return invalid(codeInvalidValue, "stop", "stop sequences are limited to %d bytes", maxStopBytes)
		}
	}
	j.req.Stop, j.req.IgnoreEOS, j.stream = c.Stop, c.IgnoreEOS, c.Stream
	if c.StreamOptions != nil {
		if !c.Stream {
			return invalid(codeInvalidValue, "stream_options", "stream_options is only allowed with stream: true")
		}
		j.includeUsage = c.StreamOptions.IncludeUsage
	}
	if kc := c.KVCompression; kc != nil {
		if kc.Budget < 0 {
			return invalid(codeInvalidValue, "kv_compression", "kv_compression.budget must be positive, got %d", kc.Budget)
		}
		j.req.Compression = &scheduler.Compression{Policy: kc.Policy, Budget: kc.Budget}
	}
	return nil
}

// unsupported rejects fields kvpack knows but does not implement.
func unsupported(c *commonParams) *apiError {
	switch {
	case c.N != nil && *c.N != 1:
		return invalid(codeUnsupported, "n", "only n=1 is supported, got n=%d", *c.N)
	case c.PresencePenalty != nil && *c.PresencePenalty != 0:
		return invalid(codeUnsupported, "presence_penalty", "presence_penalty is not supported (use repetition_penalty)")
	case c.FrequencyPenalty != nil && *c.FrequencyPenalty != 0:
		return invalid(codeUnsupported, "frequency_penalty", "frequency_penalty is not supported (use repetition_penalty)")
	}
	return nil
}

// samplingParams maps OpenAI's sampling fields (default temperature 1, top_p
// 1, a random seed) to sample.Params.
func samplingParams(c *commonParams) (sample.Params, *apiError) {
	p := sample.Params{Temperature: 1, TopP: 1}
	if v := c.Temperature; v != nil {
		if !(*v >= 0 && *v <= 2) {
			return p, invalid(codeInvalidValue, "temperature", "temperature must be in [0, 2], got %v", *v)
		}
		p.Temperature = float32(*v)
	}
	if v := c.TopP; v != nil {
		if !(*v > 0 && *v <= 1) {
			return p, invalid(codeInvalidValue, "top_p", "top_p must be in (0, 1], got %v", *v)
		}
		p.TopP = float32(*v)
	}
	if v := c.TopK; v != nil {
		if *v < -1 {
			return p, invalid(codeInvalidValue, "top_k", "top_k must be -1 (off) or >= 0, got %d", *v)
		}
		p.TopK = max(*v, 0)
	}
	if v := c.MinP; v != nil {
		if !(*v >= 0 && *v <= 1) {
			return p, invalid(codeInvalidValue, "min_p", "min_p must be in [0, 1], got %v", *v)
		}
		p.MinP = float32(*v)
	}
	if v := c.RepetitionPenalty; v != nil {
		if !(*v > 0 && *v <= 10) {
			return p, invalid(codeInvalidValue, "repetition_penalty", "repetition_penalty must be in (0, 10], got %v", *v)
		}
		p.RepeatPenalty = float32(*v)
	}
	if c.Seed != nil {
		p.Seed = uint64(*c.Seed)
	} else {
		var b [8]byte
		rand.Read(b[:])
		p.Seed = binary.LittleEndian.Uint64(b[:])
	}
	return p, nil
}

// lengths sets MaxTokens and enforces the context: a prompt longer than the
// context, or prompt + max_tokens beyond it, is a 400
// context_length_exceeded (never silently truncated).
func (s *Server) lengths(j *job, maxTokens *int, defMax int) *apiError {
	ctxLen, n := s.cfg.Model.Config.Context, len(j.req.Prompt)
	if n == 0 {
		return invalid(codeInvalidValue, j.promptParam, "the prompt is empty")
	}
	if n >= ctxLen {
		return invalid(codeContextLength, j.promptParam,
			"this model's maximum context length is %d tokens, but the prompt has %d tokens (no room to generate)", ctxLen, n)
	}
	if maxTokens == nil {
		j.req.MaxTokens = min(defMax, ctxLen-n)
		return nil
	}
	if *maxTokens < 1 {
		return invalid(codeInvalidValue, "max_tokens", "max_tokens must be at least 1, got %d", *maxTokens)
	}
	if n+*maxTokens > ctxLen {
		return invalid(codeContextLength, "max_tokens",
			"this model's maximum context length is %d tokens, but %d tokens were requested (%d in the prompt, %d for the completion)",
			ctxLen, n+*maxTokens, n, *maxTokens)
	}
	j.req.MaxTokens = *maxTokens
	return nil
}

// run submits j and answers with a stream or a JSON body.
func (s *Server) run(w http.ResponseWriter, r *http.Request, j *job, f formatter) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel() // the client left or we are done: the engine frees the request's blocks
	j.req.Ctx = ctx
	st, err := s.eng.Submit(&j.req)
	if err != nil {
		writeError(w, engineError(err, j.promptParam))
		return
	}
	if j.stream {
		s.streamOut(ctx, w, st, j, f)
		return
	}
	text, toks, last, err := st.Collect(ctx)
	if err != nil || last.Finish == scheduler.FinishCancelled {
		return // client gone
	}
	if last.Finish == scheduler.FinishError {
		writeError(w, engineError(last.Err, j.promptParam))
		return
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	writeJSON(w, http.StatusOK, f.body(text, toks, last))
}

// streamOut sends events as server-sent events, then "data: [DONE]".
func (s *Server) streamOut(ctx context.Context, w http.ResponseWriter, st *scheduler.Stream, j *job, f formatter) {
	out := newSSE(w, s.cfg.WriteTimeout)
	if h := f.head(); h != nil {
		out.send(h)
	}
	for out.err == nil {
		evs, ok := st.Next(ctx)
		if !ok {
			return
		}
		for _, ev := range evs {
			if c := f.chunk(ev.Text, ev.Tokens); c != nil && (ev.Text != "" || len(ev.Tokens) > 0) {
				out.send(c)
			}
			switch ev.Finish {
			case "":
				continue
			case scheduler.FinishCancelled:
				return
			case scheduler.FinishError:
				out.send(map[string]*apiError{"error": engineError(ev.Err, j.promptParam)})
			default:
				out.send(f.finish(ev.Finish))
				if j.includeUsage {
					out.send(f.usage(ev.Usage))
				}
			}
			out.done()
			return
		}
	}
}

// usageOf converts the engine's usage.
func usageOf(u *scheduler.Usage) *usageJSON {
	if u == nil {
		return nil
	}
	return &usageJSON{
		PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens,
		KVTokensEvicted: u.KVTokensEvicted, KVPeakBytes: u.KVPeakBytes, KVBlocksFreed: u.KVBlocksFreed,
	}
}

// finite keeps JSON encodable: log probabilities of -Inf become -9999.
func finite(v float32) float32 {
	if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
		return -9999
	}
	return v
}
