package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kvpack/kvpack/internal/scheduler"
)

type errCase struct {
	name   string
	method string
	path   string
	body   any
	header []string
	status int
	code   string
	param  string
}

func checkErrCases(t *testing.T, base string, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			var b []byte
			if tc.method == http.MethodGet {
				resp, b = get(t, base+tc.path)
			} else {
				resp, b = post(t, base+tc.path, tc.body, tc.header...)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			var e errorBody
			mustUnmarshal(t, b, &e)
			if e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("error without message or type: %s", b)
			}
			if got := deref(e.Error.Code); got != tc.code {
				t.Fatalf("code %q, want %q: %s", got, tc.code, b)
			}
			if got := deref(e.Error.Param); got != tc.param {
				t.Fatalf("param %q, want %q: %s", got, tc.param, b)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestErrors(t *testing.T) {
	m := loadStories(t)
	s := newTestServer(t, m, serverOpts{compress: true})
	ctx := m.Config.Context
	long := make([]int, ctx+1)
	for i := range long {
		long[i] = 1
	}
	const cmp, chat = "/v1/completions", "/v1/chat/completions"
	msgs := []map[string]string{{"role": "user", "content": "hi"}}
	checkErrCases(t, s.url, []errCase{
		{"malformed JSON", "POST", cmp, `{"prompt": "x",`, nil, 400, codeInvalidJSON, ""},
		{"empty body", "POST", cmp, ``, nil, 400, codeInvalidJSON, ""},
		{"body not an object", "POST", cmp, `[1, 2]`, nil, 400, codeInvalidJSON, ""},
		{"max_tokens a string", "POST", cmp, `{"prompt": "x", "max_tokens": "ten"}`, nil, 400, codeInvalidType, "max_tokens"},
		{"temperature a string", "POST", chat, map[string]any{"messages": msgs, "temperature": "hot"}, nil, 400, codeInvalidType, "temperature"},
		{"stop a number", "POST", cmp, `{"prompt": "x", "stop": 5}`, nil, 400, codeInvalidType, "stop"},
		{"prompt an object", "POST", cmp, `{"prompt": {"a": 1}}`, nil, 400, codeInvalidType, "prompt"},
		{"chat logprobs a number", "POST", chat, map[string]any{"messages": msgs, "logprobs": 3}, nil, 400, codeInvalidType, "logprobs"},
		{"content an object", "POST", chat, `{"messages": [{"role": "user", "content": {"x": 1}}]}`, nil, 400, codeInvalidType, "messages.content"},
		{"missing prompt", "POST", cmp, `{"max_tokens": 3}`, nil, 400, codeInvalidValue, "prompt"},
		{"prompt longer than the context", "POST", cmp, map[string]any{"prompt": long}, nil, 400, codeContextLength, "prompt"},
		{"messages longer than the context", "POST", chat, map[string]any{"messages": []map[string]string{{"role": "user", "content": strings.Repeat("hello world ", ctx)}}},
			nil, 400, codeContextLength, "messages"},
		{"prompt + max_tokens beyond the context", "POST", cmp, map[string]any{"prompt": "Once", "max_tokens": ctx}, nil, 400, codeContextLength, "max_tokens"},
		{"max_tokens zero", "POST", cmp, map[string]any{"prompt": "Once", "max_tokens": 0}, nil, 400, codeInvalidValue, "max_tokens"},
		{"unknown model", "POST", cmp, map[string]any{"prompt": "Once", "model": "gpt-9"}, nil, 404, codeModelNotFound, "model"},
		{"unknown model retrieved", "GET", "/v1/models/gpt-9", nil, nil, 404, codeModelNotFound, "model"},
		{"n=2", "POST", cmp, map[string]any{"prompt": "Once", "n": 2}, nil, 400, codeUnsupported, "n"},
		{"two prompts", "POST", cmp, map[string]any{"prompt": []string{"a", "b"}}, nil, 400, codeUnsupported, "prompt"},
		{"temperature out of range", "POST", cmp, map[string]any{"prompt": "Once", "temperature": 3}, nil, 400, codeInvalidValue, "temperature"},
		{"top_p zero", "POST", cmp, map[string]any{"prompt": "Once", "top_p": 0}, nil, 400, codeInvalidValue, "top_p"},
		{"too many top logprobs", "POST", chat, map[string]any{"messages": msgs, "logprobs": true, "top_logprobs": 21}, nil, 400, codeInvalidValue, "top_logprobs"},
		{"top_logprobs without logprobs", "POST", chat, map[string]any{"messages": msgs, "top_logprobs": 2}, nil, 400, codeInvalidValue, "top_logprobs"},
		{"echo with logprobs", "POST", cmp, map[string]any{"prompt": "Once", "echo": true, "logprobs": 1}, nil, 400, codeUnsupported, "echo"},
		{"token id outside the vocabulary", "POST", cmp, map[string]any{"prompt": []int{1, 99999}}, nil, 400, codeInvalidValue, "prompt"},
		{"empty messages", "POST", chat, map[string]any{"messages": []any{}}, nil, 400, codeInvalidValue, "messages"},
		{"tool role", "POST", chat, map[string]any{"messages": []map[string]string{{"role": "tool", "content": "x"}}}, nil, 400, codeInvalidValue, "messages"},
		{"image content", "POST", chat, `{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}`, nil, 400, codeUnsupported, "messages"},
		{"tools", "POST", chat, map[string]any{"messages": msgs, "tools": []map[string]string{{"type": "function"}}}, nil, 400, codeUnsupported, "tools"},
		{"stream_options without stream", "POST", cmp, map[string]any{"prompt": "Once", "stream_options": map[string]bool{"include_usage": true}}, nil, 400, codeInvalidValue, "stream_options"},
		{"unknown compression policy", "POST", cmp, map[string]any{"prompt": "Once", "kv_compression": map[string]any{"policy": "magic"}}, nil, 400, codeInvalidValue, "kv_compression"},
		{"compression budget a string", "POST", cmp, `{"prompt": "Once", "kv_compression": {"policy": "streaming", "budget": "big"}}`, nil, 400, codeInvalidType, "kv_compression.budget"},
		{"body too large", "POST", cmp, `{"prompt": "` + strings.Repeat("a", 2<<20) + `"}`, nil, 413, codeTooLarge, ""},
		{"GET on a POST route", "GET", cmp, nil, nil, 405, codeMethod, ""},
		{"unknown route", "GET", "/v2/everything", nil, nil, 404, codeNotFound, ""},
	})
}

func TestAPIKey(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{apiKey: "sekret"})
	body := map[string]any{"prompt": "Once", "max_tokens": 2}
	checkErrCases(t, s.url, []errCase{
		{"no key", "POST", "/v1/completions", body, nil, 401, codeInvalidAPIKey, ""},
		{"wrong key", "POST", "/v1/completions", body, []string{"Authorization", "Bearer nope"}, 401, codeInvalidAPIKey, ""},
		{"models without key", "GET", "/v1/models", nil, nil, 401, codeInvalidAPIKey, ""},
	})
	if resp, b := post(t, s.url+"/v1/completions", body, "Authorization", "Bearer sekret"); resp.StatusCode != 200 {
		t.Fatalf("right key: %d %s", resp.StatusCode, b)
	}
	if resp, _ := get(t, s.url+"/health"); resp.StatusCode != 200 {
		t.Fatalf("/health needs no key: %d", resp.StatusCode)
	}
}

// TestQueueFullAndPoolTooSmall: with one running sequence and a queue of
// one, the third request is answered 429; a prompt that can never fit the
// pool is a 400 kv_cache_too_small while other requests go on.
func TestQueueFullAndPoolTooSmall(t *testing.T) {
	m := loadStories(t)
	tables := m.Config.Layers * m.Config.KVHeads
	s := newTestServer(t, m, serverOpts{blocks: 64 * tables, sched: scheduler.Options{MaxSeqs: 1, MaxQueue: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := map[string]any{"prompt": "Once", "max_tokens": 1000, "ignore_eos": true, "stream": true}
	raw, _ := json.Marshal(long)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/completions", strings.NewReader(string(raw)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	resp.Body.Read(buf) // the first request is running
	second := make(chan int, 1)
	go func() {
		r, _ := post(t, s.url+"/v1/completions", map[string]any{"prompt": "Once", "max_tokens": 2})
		second <- r.StatusCode
	}()
	waitFor(t, func() bool { return s.Engine().Stats().Waiting == 1 })
	checkErrCases(t, s.url, []errCase{
		{"queue full", "POST", "/v1/completions", map[string]any{"prompt": "Once", "max_tokens": 2}, nil, 429, codeRateLimit, ""},
		{"prompt larger than the kv pool", "POST", "/v1/completions", map[string]any{"prompt": make([]int, 64*16+1)}, nil, 400, codeKVTooSmall, "prompt"},
	})
	cancel() // the client of the first request leaves: its blocks go back, the second runs
	if code := <-second; code != 200 {
		t.Fatalf("queued request: status %d", code)
	}
	waitFor(t, func() bool { return s.pool.Used() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
