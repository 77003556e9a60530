package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/scheduler"
)

// testServer is a kvpack server on stories260K behind httptest.
type testServer struct {
	*Server
	url  string
	pool *kvcache.Pool
}

// serverOpts tweak a test server.
type serverOpts struct {
	blocks   int // kv pool blocks (default 4096)
	apiKey   string
	sched    scheduler.Options
	compress bool // enable per-request compression (default policy none)
}

func loadStories(t *testing.T) *model.Model {
	t.Helper()
	m, err := model.Load(oracle.RequireModel(t, oracle.StoriesModel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newTestServer(t *testing.T, m *model.Model, o serverOpts) *testServer {
	t.Helper()
	if o.blocks == 0 {
		o.blocks = 4096
	}
	c := &m.Config
	pool, err := kvcache.NewPool(kvcache.Shape{Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: c.AttnScale},
		kvcache.Options{BlockSize: 16, DType: kvcache.F16, Blocks: o.blocks})
	if err != nil {
		t.Fatal(err)
	}
	workers := parallel.New(2)
	if o.compress {
		if o.sched.Compressors, err = scheduler.NewPolicies(c, compress.Config{Policy: "none"}, workers); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Config{Model: m, Workers: workers, KV: pool, Scheduler: o.sched, APIKey: o.apiKey})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
		workers.Close()
		if u := pool.Used(); u != 0 {
			t.Errorf("%d kv blocks still used after shutdown", u)
		}
	})
	return &testServer{Server: s, url: hs.URL, pool: pool}
}

// post sends body (a string is sent as is, anything else as JSON).
func post(t *testing.T, url string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var raw []byte
	if s, ok := body.(string); ok {
		raw = []byte(s)
	} else {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Minute)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// errorBody is OpenAI's error shape.
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// sseEvents splits an SSE body into its data payloads, checking the framing:
// only "data: ..." lines, each followed by a blank line.
func sseEvents(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	expectBlank := false
	for sc.Scan() {
		line := sc.Text()
		if expectBlank {
			if line != "" {
				t.Fatalf("SSE: event not followed by a blank line: %q", line)
			}
			expectBlank = false
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("SSE: line %q does not start with \"data: \"", line)
		}
		out = append(out, data)
		expectBlank = true
	}
	if len(out) == 0 || out[len(out)-1] != "[DONE]" {
		t.Fatalf("SSE stream does not end with [DONE]: %q", out)
	}
	return out[:len(out)-1]
}

func mustUnmarshal(t *testing.T, s []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(s, v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}
