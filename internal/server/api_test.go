package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvpack/kvpack/internal/scheduler"
)

// completion decodes a non-streaming /v1/completions answer.
type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Text         string              `json:"text"`
		FinishReason string              `json:"finish_reason"`
		Logprobs     *completionLogprobs `json:"logprobs"`
	} `json:"choices"`
	Usage *usageJSON `json:"usage"`
}

type chatAnswer struct {
	Object  string `json:"object"`
	Choices []struct {
		Message      chatMessageOut `json:"message"`
		Delta        chatMessageOut `json:"delta"`
		FinishReason *string        `json:"finish_reason"`
		Logprobs     *chatLogprobs  `json:"logprobs"`
	} `json:"choices"`
	Usage *usageJSON `json:"usage"`
}

func complete(t *testing.T, url string, body map[string]any) completion {
	t.Helper()
	resp, b := post(t, url+"/v1/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var c completion
	mustUnmarshal(t, b, &c)
	if c.Object != "text_completion" || len(c.Choices) != 1 || c.Usage == nil || !strings.HasPrefix(c.ID, "cmpl-") {
		t.Fatalf("bad completion: %s", b)
	}
	return c
}

// streamCompletion returns the concatenated text, the finish reason and the
// usage chunk (if any) of a streamed completion.
func streamCompletion(t *testing.T, url string, body map[string]any) (string, string, *usageJSON) {
	t.Helper()
	body["stream"] = true
	resp, b := post(t, url+"/v1/completions", body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var text strings.Builder
	finish := ""
	var usage *usageJSON
	for i, ev := range sseEvents(t, b) {
		var c completion
		mustUnmarshal(t, []byte(ev), &c)
		if c.Usage != nil {
			if len(c.Choices) != 0 || usage != nil {
				t.Fatalf("usage chunk %d: %s", i, ev)
			}
			usage = c.Usage
			continue
		}
		if len(c.Choices) != 1 || finish != "" {
			t.Fatalf("chunk %d after finish %q: %s", i, finish, ev)
		}
		text.WriteString(c.Choices[0].Text)
		finish = c.Choices[0].FinishReason
	}
	return text.String(), finish, usage
}

func TestCompletionStreamMatchesJSON(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{})
	body := func() map[string]any {
		return map[string]any{"prompt": "Once upon a time", "max_tokens": 30, "temperature": 0.8, "seed": 7, "ignore_eos": true}
	}
	whole := complete(t, s.url, body())
	text, finish, usage := streamCompletion(t, s.url, body())
	if text != whole.Choices[0].Text || finish != "length" || whole.Choices[0].FinishReason != "length" || usage != nil {
		t.Fatalf("stream %q (%s, usage %v) vs JSON %q (%s)", text, finish, usage, whole.Choices[0].Text, whole.Choices[0].FinishReason)
	}
	b := body()
	b["stream_options"] = map[string]bool{"include_usage": true}
	_, _, usage = streamCompletion(t, s.url, b)
	if usage == nil || usage.CompletionTokens != 30 || usage.PromptTokens != whole.Usage.PromptTokens || usage.TotalTokens != usage.PromptTokens+30 || usage.KVPeakBytes <= 0 {
		t.Fatalf("usage %+v, JSON usage %+v", usage, whole.Usage)
	}
	b = body()
	b["echo"] = true
	if e := complete(t, s.url, b); e.Choices[0].Text != "Once upon a time"+whole.Choices[0].Text {
		t.Fatalf("echo: %q", e.Choices[0].Text)
	}
	b = body()
	b["echo"], b["stream"] = true, true
	if text, _, _ := streamCompletion(t, s.url, b); text != "Once upon a time"+whole.Choices[0].Text {
		t.Fatalf("streamed echo: %q", text)
	}
}

func TestChatStreamAndJSON(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{})
	body := map[string]any{"model": s.ModelName(), "messages": []map[string]any{
		{"role": "system", "content": "Be nice."},
		{"role": "user", "content": []map[string]string{{"type": "text", "text": "Tell a story."}}},
	}, "max_tokens": 20, "temperature": 0}
	resp, b := post(t, s.url+"/v1/chat/completions", body)
	var whole chatAnswer
	mustUnmarshal(t, b, &whole)
	if resp.StatusCode != 200 || whole.Object != "chat.completion" || len(whole.Choices) != 1 || whole.Choices[0].Message.Role != "assistant" ||
		whole.Choices[0].Message.Content == nil || whole.Usage == nil {
		t.Fatalf("chat answer %d: %s", resp.StatusCode, b)
	}
	body["stream"] = true
	resp, b = post(t, s.url+"/v1/chat/completions", body)
	evs := sseEvents(t, b)
	var text strings.Builder
	for i, ev := range evs {
		var c chatAnswer
		mustUnmarshal(t, []byte(ev), &c)
		if c.Object != "chat.completion.chunk" || len(c.Choices) != 1 {
			t.Fatalf("chunk %d: %s", i, ev)
		}
		ch := c.Choices[0]
		switch {
		case i == 0 && (ch.Delta.Role != "assistant" || ch.FinishReason != nil):
			t.Fatalf("first chunk must carry the role: %s", ev)
		case i == len(evs)-1 && (ch.FinishReason == nil || *ch.FinishReason != *whole.Choices[0].FinishReason):
			t.Fatalf("last chunk must carry the finish reason %q: %s", *whole.Choices[0].FinishReason, ev)
		case i < len(evs)-1 && ch.FinishReason != nil:
			t.Fatalf("finish reason before the end: %s", ev)
		}
		if ch.Delta.Content != nil {
			text.WriteString(*ch.Delta.Content)
		}
	}
	if text.String() != *whole.Choices[0].Message.Content {
		t.Fatalf("streamed %q, JSON %q", text.String(), *whole.Choices[0].Message.Content)
	}
}

// TestStopSequences: stop strings (one or several, across token
// boundaries) end the output before the stop text, streamed or not.
func TestStopSequences(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{})
	base := complete(t, s.url, map[string]any{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0, "ignore_eos": true})
	full := base.Choices[0].Text
	if len(full) < 20 {
		t.Fatalf("greedy text too short: %q", full)
	}
	mid := full[10:14]
	want := full[:strings.Index(full, mid)]
	for _, stop := range []any{mid, []string{"qqqq", mid}} {
		body := func() map[string]any {
			return map[string]any{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0, "ignore_eos": true, "stop": stop}
		}
		c := complete(t, s.url, body())
		if c.Choices[0].Text != want || c.Choices[0].FinishReason != "stop" {
			t.Fatalf("stop %v: %q (%s), want %q", stop, c.Choices[0].Text, c.Choices[0].FinishReason, want)
		}
		if text, finish, _ := streamCompletion(t, s.url, body()); text != want || finish != "stop" {
			t.Fatalf("streamed stop %v: %q (%s), want %q", stop, text, finish, want)
		}
	}
}

func TestLogprobsShape(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{})
	c := complete(t, s.url, map[string]any{"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0, "logprobs": 3, "ignore_eos": true})
	lp := c.Choices[0].Logprobs
	n := c.Usage.CompletionTokens
	if lp == nil || len(lp.Tokens) != n || len(lp.TokenLogprobs) != n || len(lp.TopLogprobs) != n || len(lp.TextOffset) != n {
		t.Fatalf("completions logprobs for %d tokens: %+v", n, lp)
	}
	for i := range n {
		best := float32(-1e9)
		for _, v := range lp.TopLogprobs[i] {
			best = max(best, v)
		}
		if len(lp.TopLogprobs[i]) == 0 || len(lp.TopLogprobs[i]) > 3 || lp.TokenLogprobs[i] > 0 || lp.TokenLogprobs[i] != best {
			t.Fatalf("token %d: greedy logprob %v, top %v", i, lp.TokenLogprobs[i], lp.TopLogprobs[i])
		}
		if i > 0 && lp.TextOffset[i] < lp.TextOffset[i-1] {
			t.Fatalf("text offsets decrease: %v", lp.TextOffset)
		}
	}
	body := map[string]any{"messages": []map[string]string{{"role": "user", "content": "Hi"}}, "max_tokens": 8, "temperature": 0,
		"logprobs": true, "top_logprobs": 2}
	for _, stream := range []bool{false, true} {
		body["stream"] = stream
		_, b := post(t, s.url+"/v1/chat/completions", body)
		var content []chatTokenLogprob
		evs := []string{string(b)}
		if stream {
			evs = sseEvents(t, b)
		}
		for _, ev := range evs {
			var a chatAnswer
			mustUnmarshal(t, []byte(ev), &a)
			if len(a.Choices) == 1 && a.Choices[0].Logprobs != nil {
				content = append(content, a.Choices[0].Logprobs.Content...)
			}
		}
		if len(content) == 0 {
			t.Fatalf("stream %v: no logprobs: %s", stream, b)
		}
		for _, c := range content {
			if len(c.TopLogprobs) != 2 || c.Logprob != c.TopLogprobs[0].Logprob || len(c.Bytes) != len(c.Token) && !strings.ContainsRune(c.Token, '\uFFFD') {
				t.Fatalf("stream %v: chat token logprob %+v", stream, c)
			}
		}
	}
}

// TestConcurrentMatchesSequential: 16 concurrent requests with mixed
// parameters over HTTP give the same outputs as one by one.
func TestConcurrentMatchesSequential(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{sched: scheduler.Options{MaxBatchTokens: 64}})
	prompts := []string{"Once upon a time", "The cat", "Lily and Ben went to the park to play", "One day, a big"}
	var bodies []map[string]any
	for i := range 16 {
		b := map[string]any{"prompt": prompts[i%4], "max_tokens": 10 + 2*i, "seed": i}
		if i%2 == 0 {
			b["temperature"] = 0
		} else {
			b["temperature"], b["top_p"] = 0.9, 0.95
		}
		if i%3 == 0 {
			b["stop"] = []string{"."}
		}
		bodies = append(bodies, b)
	}
	want := make([]string, len(bodies))
	for i, b := range bodies {
		c := complete(t, s.url, b)
		want[i] = c.Choices[0].FinishReason + "|" + c.Choices[0].Text
	}
	got := make([]string, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Go(func() {
			c := complete(t, s.url, b)
			got[i] = c.Choices[0].FinishReason + "|" + c.Choices[0].Text
		})
	}
	wg.Wait()
	for i := range bodies {
		if got[i] != want[i] {
			t.Errorf("request %d: concurrent %q, sequential %q", i, got[i], want[i])
		}
	}
	waitFor(t, func() bool { return s.pool.Used() == 0 })
}

// TestDisconnectFreesBlocks: a streaming client that goes away frees its
// request's blocks.
func TestDisconnectFreesBlocks(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	raw, _ := json.Marshal(map[string]any{"prompt": "Once", "max_tokens": 2000, "ignore_eos": true, "stream": true})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/completions", strings.NewReader(string(raw)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	if s.pool.Used() == 0 {
		t.Fatal("no blocks held while streaming")
	}
	cancel()
	resp.Body.Close()
	waitFor(t, func() bool { return s.pool.Used() == 0 && s.Engine().Stats().Running == 0 })
}

// TestReadTimeoutDoesNotCutStreams: a generation that outlives the server's
// ReadTimeout still completes.
func TestReadTimeoutDoesNotCutStreams(t *testing.T) {
	m := loadStories(t)
	s := newTestServer(t, m, serverOpts{})
	s.cfg.ReadTimeout = 30 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer(ln.Addr().String())
	go hs.Serve(ln)
	defer hs.Close()
	url := fmt.Sprintf("http://%s", ln.Addr())
	n := 1500
	if testing.Short() {
		n = 200 // still several read timeouts long, also under -race
	}
	start := time.Now()
	text, finish, usage := streamCompletion(t, url, map[string]any{"prompt": "Once", "max_tokens": n, "ignore_eos": true,
		"stream_options": map[string]bool{"include_usage": true}})
	if finish != "length" || usage == nil || usage.CompletionTokens != n || text == "" {
		t.Fatalf("finish %q, usage %+v after %v", finish, usage, time.Since(start))
	}
	if time.Since(start) < 3*s.cfg.ReadTimeout {
		t.Logf("generation took only %v; the read timeout was not really exercised", time.Since(start))
	}
}

func TestModelsHealthMetrics(t *testing.T) {
	s := newTestServer(t, loadStories(t), serverOpts{})
	resp, b := get(t, s.url+"/v1/models")
	var list struct {
		Object string      `json:"object"`
		Data   []modelJSON `json:"data"`
	}
	mustUnmarshal(t, b, &list)
	if resp.StatusCode != 200 || list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != "stories260K" {
		t.Fatalf("/v1/models: %s", b)
	}
	if resp, b := get(t, s.url+"/v1/models/stories260K"); resp.StatusCode != 200 {
		t.Fatalf("/v1/models/stories260K: %s", b)
	}
	if resp, b := get(t, s.url+"/health"); resp.StatusCode != 200 {
		t.Fatalf("/health: %s", b)
	}
	complete(t, s.url, map[string]any{"prompt": "Once", "max_tokens": 5, "ignore_eos": true})
	wants := []string{
		`vllm:num_requests_waiting{model_name="stories260K"} 0`,
		`vllm:num_requests_running{model_name="stories260K"} 0`,
		`vllm:kv_cache_usage_perc{model_name="stories260K"} 0`,
		`vllm:cache_config_info{block_size="16",cache_dtype="f16",model_name="stories260K",num_gpu_blocks="4096"} 1`,
		`vllm:num_preemptions_total{model_name="stories260K"} 0`,
		`kvpack_preemptions_total 0`,
		`vllm:generation_tokens_total{model_name="stories260K"} 5`,
		`kvpack_kv_tokens_evicted_total 0`,
		`kvpack_kv_blocks_reclaimed_total 0`,
		`kvpack_compaction_seconds_total 0`,
		`vllm:time_to_first_token_seconds_count{model_name="stories260K"} 1`,
		`vllm:inter_token_latency_seconds_count{model_name="stories260K"} 4`,
	}
	// The response can reach the client a moment before the engine loop has
	// retired the request, so poll until the gauges settle.
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, b = get(t, s.url+"/metrics")
		text = string(b)
		if containsAll(text, wants) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(text, "vllm:prompt_tokens_total") {
		t.Errorf("/metrics lacks vllm:prompt_tokens_total")
	}
}

func containsAll(text string, wants []string) bool {
	for _, w := range wants {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}
