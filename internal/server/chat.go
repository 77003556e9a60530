package server

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kvpack/kvpack/internal/scheduler"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

// chat answers POST /v1/chat/completions.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if e := s.readJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	j := &job{promptParam: "messages"}
	f, e := s.parseChat(&req, j)
	if e != nil {
		writeError(w, e)
		return
	}
	s.run(w, r, j, f)
}

// parseChat validates req into j and makes its formatter.
func (s *Server) parseChat(req *chatRequest, j *job) (*chatFormat, *apiError) {
	if e := checkChatExtras(req); e != nil {
		return nil, e
	}
	msgs, e := chatMessages(req.Messages)
	if e != nil {
		return nil, e
	}
	text, err := renderChat(s.cfg.Model.Tokenizer, msgs)
	if err != nil {
		return nil, invalid(codeUnsupported, "messages", "%v", err)
	}
	j.req.Prompt = s.cfg.Model.Tokenizer.Encode(text, true, true)
	if req.TopLogprobs != nil {
		if !req.Logprobs {
			return nil, invalid(codeInvalidValue, "top_logprobs", "top_logprobs needs logprobs: true")
		}
		if *req.TopLogprobs < 0 || *req.TopLogprobs > 20 {
			return nil, invalid(codeInvalidValue, "top_logprobs", "top_logprobs must be in 0..20, got %d", *req.TopLogprobs)
		}
		j.req.TopLogprobs = *req.TopLogprobs
	}
	j.req.Logprobs = req.Logprobs
	maxTokens := req.MaxCompletionTokens
	if maxTokens == nil {
		maxTokens = req.MaxTokens
	}
	if e := s.params(&req.commonParams, j, maxTokens, s.cfg.Model.Config.Context); e != nil {
		return nil, e
	}
	return &chatFormat{id: newID("chatcmpl-"), created: time.Now().Unix(), model: s.cfg.ModelName, logprobs: req.Logprobs}, nil
}

// checkChatExtras rejects tools and structured output, which kvpack lacks.
func checkChatExtras(req *chatRequest) *apiError {
	if t := bytes.TrimSpace(req.Tools); len(t) > 0 && !bytes.Equal(t, []byte("null")) && !bytes.Equal(t, []byte("[]")) {
		return invalid(codeUnsupported, "tools", "tools are not supported")
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != "text" {
		return invalid(codeUnsupported, "response_format", "response_format %q is not supported (only \"text\")", rf.Type)
	}
	return nil
}

// chatMessages checks roles and content; "developer" counts as "system".
func chatMessages(in []chatMessage) ([]tokenizer.Message, *apiError) {
	if len(in) == 0 {
		return nil, invalid(codeInvalidValue, "messages", "'messages' must hold at least one message")
	}
	out := make([]tokenizer.Message, 0, len(in))
	for _, m := range in {
		role := m.Role
		switch role {
		case "developer":
			role = "system"
		case "system", "user", "assistant":
		default:
			return nil, invalid(codeInvalidValue, "messages", "unsupported message role %q (want system, developer, user or assistant)", m.Role)
		}
		if m.Content.nonText != "" {
			return nil, invalid(codeUnsupported, "messages", "content parts of type %s are not supported (text only)", m.Content.nonText)
		}
		out = append(out, tokenizer.Message{Role: role, Content: m.Content.text})
	}
	return out, nil
}

// renderChat applies the model's chat template. A model without any
// template (base models such as stories260K) gets a plain fallback:
// "role: content" lines, then "assistant:".
func renderChat(tok *tokenizer.Tokenizer, msgs []tokenizer.Message) (string, error) {
	text, err := tok.ApplyChatTemplate(msgs, true)
	if err == nil || !errors.Is(err, tokenizer.ErrTemplate) || strings.TrimSpace(tok.ChatTemplate()) != "" {
		return text, err
	}
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role + ": " + m.Content + "\n")
	}
	b.WriteString("assistant:")
	return b.String(), nil
}

// chatFormat formats /v1/chat/completions responses.
type chatFormat struct {
	id       string
	created  int64
	model    string
	logprobs bool
}

func (f *chatFormat) wrap(c *chatChoice, u *usageJSON) chatBody {
	b := chatBody{ID: f.id, Object: "chat.completion.chunk", Created: f.created, Model: f.model, Usage: u, Choices: []chatChoice{}}
	if c != nil {
		b.Choices = append(b.Choices, *c)
	}
	return b
}

func (f *chatFormat) head() any {
	empty := ""
	return f.wrap(&chatChoice{Delta: &chatMessageOut{Role: "assistant", Content: &empty}}, nil)
}

func (f *chatFormat) chunk(text string, toks []scheduler.TokenLogprob) any {
	if text == "" && len(toks) == 0 {
		return nil
	}
	return f.wrap(&chatChoice{Delta: &chatMessageOut{Content: &text}, Logprobs: f.lp(toks)}, nil)
}

func (f *chatFormat) finish(reason string) any {
	return f.wrap(&chatChoice{Delta: &chatMessageOut{}, FinishReason: &reason}, nil)
}

func (f *chatFormat) usage(u *scheduler.Usage) any { return f.wrap(nil, usageOf(u)) }

func (f *chatFormat) body(text string, toks []scheduler.TokenLogprob, last scheduler.Event) any {
	b := f.wrap(&chatChoice{Message: &chatMessageOut{Role: "assistant", Content: &text}, Logprobs: f.lp(toks), FinishReason: &last.Finish},
		usageOf(last.Usage))
	b.Object = "chat.completion"
	return b
}

// lp builds the chat logprobs object of toks; nil unless asked for.
func (f *chatFormat) lp(toks []scheduler.TokenLogprob) *chatLogprobs {
	if !f.logprobs {
		return nil
	}
	l := &chatLogprobs{Content: []chatTokenLogprob{}}
	for _, t := range toks {
		c := chatTokenLogprob{Token: string(t.Text), Logprob: finite(t.Logprob), Bytes: byteInts(t.Text), TopLogprobs: []chatTopLogprob{}}
		for _, a := range t.Top {
			c.TopLogprobs = append(c.TopLogprobs, chatTopLogprob{Token: string(a.Text), Logprob: finite(a.Logprob), Bytes: byteInts(a.Text)})
		}
		l.Content = append(l.Content, c)
	}
	return l
}

func byteInts(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}
