package server

import (
	"net/http"
	"time"

	"github.com/kvpack/kvpack/internal/scheduler"
)

// maxLegacyLogprobs bounds "logprobs" of /v1/completions (vLLM's limit; OpenAI's is 5).
const maxLegacyLogprobs = 20

// completions answers POST /v1/completions.
func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if e := s.readJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	j := &job{promptParam: "prompt"}
	f, e := s.parseCompletion(&req, j)
	if e != nil {
		writeError(w, e)
		return
	}
	s.run(w, r, j, f)
}

// parseCompletion validates req into j and makes its formatter.
func (s *Server) parseCompletion(req *completionRequest, j *job) (*completionFormat, *apiError) {
	p := &req.Prompt
	switch {
	case !p.set:
		return nil, invalid(codeInvalidValue, "prompt", "'prompt' is required")
	case p.many != 1:
		return nil, invalid(codeUnsupported, "prompt", "exactly one prompt is supported, got %d", p.many)
	case req.Suffix != nil && *req.Suffix != "":
		return nil, invalid(codeUnsupported, "suffix", "suffix is not supported")
	case req.BestOf != nil && *req.BestOf != 1:
		return nil, invalid(codeUnsupported, "best_of", "only best_of=1 is supported")
	case req.Echo && req.Logprobs != nil:
		return nil, invalid(codeUnsupported, "echo", "echo together with logprobs is not supported (prompt logprobs are not computed)")
	case req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > maxLegacyLogprobs):
		return nil, invalid(codeInvalidValue, "logprobs", "logprobs must be in 0..%d, got %d", maxLegacyLogprobs, *req.Logprobs)
	}
	tok := s.cfg.Model.Tokenizer
	echo := ""
	if p.ids != nil {
		j.req.Prompt = p.ids
		for _, id := range p.ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				return nil, invalid(codeInvalidValue, "prompt", "token id %d outside the vocabulary (0..%d)", id, tok.VocabSize()-1)
			}
		}
		if req.Echo {
			echo = tok.Decode(p.ids, false)
		}
	} else {
		j.req.Prompt = tok.Encode(p.text, true, true)
		echo = p.text
	}
	if req.Logprobs != nil {
		j.req.Logprobs, j.req.TopLogprobs = true, *req.Logprobs
	}
	if e := s.params(&req.commonParams, j, req.MaxTokens, 16); e != nil {
		return nil, e
	}
	f := &completionFormat{id: newID("cmpl-"), created: time.Now().Unix(), model: s.cfg.ModelName, logprobs: req.Logprobs != nil}
	if req.Echo {
		f.echo = echo
	}
	return f, nil
}

// completionFormat formats /v1/completions responses.
type completionFormat struct {
	id       string
	created  int64
	model    string
	echo     string
	logprobs bool
	offset   int // text offset of the next token (completions logprobs)
}

func (f *completionFormat) wrap(c completionChoice, u *usageJSON) completionBody {
	b := completionBody{ID: f.id, Object: "text_completion", Created: f.created, Model: f.model, Usage: u}
	if u == nil {
		b.Choices = []completionChoice{c}
	} else {
		b.Choices = []completionChoice{}
	}
	return b
}

func (f *completionFormat) head() any {
	if f.echo == "" {
		return nil
	}
	f.offset = len(f.echo)
	return f.wrap(completionChoice{Text: f.echo}, nil)
}

func (f *completionFormat) chunk(text string, toks []scheduler.TokenLogprob) any {
	if text == "" && len(toks) == 0 {
		return nil
	}
	return f.wrap(completionChoice{Text: text, Logprobs: f.lp(toks)}, nil)
}

func (f *completionFormat) finish(reason string) any {
	return f.wrap(completionChoice{FinishReason: &reason}, nil)
}

func (f *completionFormat) usage(u *scheduler.Usage) any {
	return f.wrap(completionChoice{}, usageOf(u))
}

func (f *completionFormat) body(text string, toks []scheduler.TokenLogprob, last scheduler.Event) any {
	f.offset = len(f.echo)
	b := f.wrap(completionChoice{Text: f.echo + text, Logprobs: f.lp(toks), FinishReason: &last.Finish}, nil)
	b.Usage = usageOf(last.Usage)
	return b
}

// lp builds the legacy logprobs object of toks; nil unless asked for.
func (f *completionFormat) lp(toks []scheduler.TokenLogprob) *completionLogprobs {
	if !f.logprobs {
		return nil
	}
	l := &completionLogprobs{Tokens: []string{}, TokenLogprobs: []float32{}, TopLogprobs: []map[string]float32{}, TextOffset: []int{}}
	for _, t := range toks {
		l.Tokens = append(l.Tokens, string(t.Text))
		l.TokenLogprobs = append(l.TokenLogprobs, finite(t.Logprob))
		top := map[string]float32{}
		for _, a := range t.Top {
			if _, dup := top[string(a.Text)]; !dup {
				top[string(a.Text)] = finite(a.Logprob)
			}
		}
		l.TopLogprobs = append(l.TopLogprobs, top)
		l.TextOffset = append(l.TextOffset, f.offset)
		f.offset += len(t.Text)
	}
	return l
}
