package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Request bodies of the OpenAI API, as far as kvpack supports them. Unknown
// fields are ignored; known but unsupported ones are answered with 400.

// errEmptyBody is a request without a body.
var errEmptyBody = errors.New("empty request body")

// fieldError is a wrong JSON type in a polymorphic field.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// commonParams are the fields shared by completions and chat completions.
type commonParams struct {
	Model             string         `json:"model"`
	MaxTokens         *int           `json:"max_tokens"`
	Temperature       *float64       `json:"temperature"`
	TopP              *float64       `json:"top_p"`
	TopK              *int           `json:"top_k"`              // extension (vLLM)
	MinP              *float64       `json:"min_p"`              // extension (vLLM)
	RepetitionPenalty *float64       `json:"repetition_penalty"` // extension (vLLM)
	Seed              *int64         `json:"seed"`
	Stop              stopField      `json:"stop"`
	Stream            bool           `json:"stream"`
	StreamOptions     *streamOptions `json:"stream_options"`
	N                 *int           `json:"n"`
	PresencePenalty   *float64       `json:"presence_penalty"`
	FrequencyPenalty  *float64       `json:"frequency_penalty"`
	IgnoreEOS         bool           `json:"ignore_eos"` // extension (vLLM)
	KVCompression     *kvCompression `json:"kv_compression"`
	User              string         `json:"user"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// kvCompression is kvpack's per-request extension:
// "kv_compression": {"policy": "triattention", "budget": 1024}.
type kvCompression struct {
	Policy string `json:"policy"`
	Budget int    `json:"budget"`
}

// completionRequest is POST /v1/completions.
type completionRequest struct {
	commonParams
	Prompt   promptField `json:"prompt"`
	Echo     bool        `json:"echo"`
	Logprobs *int        `json:"logprobs"`
	Suffix   *string     `json:"suffix"`
	BestOf   *int        `json:"best_of"`
}

// chatRequest is POST /v1/chat/completions.
type chatRequest struct {
	commonParams
	Messages            []chatMessage   `json:"messages"`
	Logprobs            bool            `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Tools               json.RawMessage `json:"tools"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

type chatMessage struct {
	Role    string       `json:"role"`
	Content contentField `json:"content"`
}

// stopField is "stop": null, a string, or an array of strings.
type stopField []string

func (s *stopField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return &fieldError{"stop", err.Error()}
		}
		*s = stopField{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &fieldError{"stop", "expected a string or an array of strings"}
	}
	*s = many
	return nil
}

// promptField is "prompt": a string, an array of one string, an array of
// token ids, or an array of one array of token ids.
type promptField struct {
	set  bool
	text string
	ids  []int32
	many int // number of prompts given (only 1 is supported)
}

func (p *promptField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	p.set, p.many = true, 1
	var s string
	if json.Unmarshal(b, &s) == nil {
		p.text = s
		return nil
	}
	var ids []int32
	if json.Unmarshal(b, &ids) == nil {
		p.ids = ids
		return nil
	}
	var texts []string
	if json.Unmarshal(b, &texts) == nil {
		p.many = len(texts)
		if len(texts) > 0 {
			p.text = texts[0]
		}
		return nil
	}
	var idLists [][]int32
	if json.Unmarshal(b, &idLists) == nil {
		p.many = len(idLists)
		if len(idLists) > 0 {
			p.ids = idLists[0]
		}
		return nil
	}
	return &fieldError{"prompt", "expected a string, an array of strings, or an array of token ids"}
}

// contentField is a message's "content": a string, null, or an array of
// {"type": "text", "text": ...} parts (concatenated).
type contentField struct {
	text    string
	nonText string // type of the first part that is not text, if any
}

func (c *contentField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if json.Unmarshal(b, &c.text) == nil {
		return nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return &fieldError{"messages.content", "expected a string or an array of content parts"}
	}
	for _, p := range parts {
		if p.Type != "text" || p.Text == nil {
			if c.nonText == "" {
				c.nonText = fmt.Sprintf("%q", p.Type)
			}
			continue
		}
		c.text += *p.Text
	}
	return nil
}

// Response bodies.

type usageJSON struct {
	PromptTokens     int   `json:"prompt_tokens"`
	CompletionTokens int   `json:"completion_tokens"`
	TotalTokens      int   `json:"total_tokens"`
	KVTokensEvicted  int   `json:"kv_tokens_evicted"`
	KVPeakBytes      int64 `json:"kv_peak_bytes"`
	KVBlocksFreed    int   `json:"kv_blocks_freed"`
}

type completionChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	Logprobs     *completionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
}

type completionBody struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usageJSON         `json:"usage,omitempty"`
}

// completionLogprobs is the legacy completions logprobs object.
type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float32            `json:"token_logprobs"`
	TopLogprobs   []map[string]float32 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type chatMessageOut struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      *chatMessageOut `json:"message,omitempty"`
	Delta        *chatMessageOut `json:"delta,omitempty"`
	Logprobs     *chatLogprobs   `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type chatBody struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usageJSON   `json:"usage,omitempty"`
}

// chatLogprobs is the chat completions logprobs object.
type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
}

type chatTokenLogprob struct {
	Token       string           `json:"token"`
	Logprob     float32          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float32 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}
