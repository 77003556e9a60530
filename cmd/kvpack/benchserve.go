package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// benchServeFlags configure `kvpack bench serve`.
type benchServeFlags struct {
	policies          string
	clients, requests int
	prompt, maxTokens int
	budget, every     int
	kvBlocks          int
	stats             string
	calibTokens       int
	timeout           time.Duration
}

// serveRow is one policy's measurement.
type serveRow struct {
	policy                   string
	requests, failed, tokens int
	wall                     time.Duration
	ttft, itl                []time.Duration
	preemptions              int64
	evicted, reclaimed       int64
	peakMiB                  float64
}

func benchServe(args []string) error {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	var mf modelFlags
	mf.register(fs)
	var bf benchServeFlags
	fs.StringVar(&bf.policies, "policies", "none,triattention", "comma-separated compression policies to compare")
	fs.IntVar(&bf.clients, "clients", 8, "concurrent HTTP clients (also --max-seqs)")
	fs.IntVar(&bf.requests, "requests", 16, "requests per policy")
	fs.IntVar(&bf.prompt, "prompt", 64, "prompt tokens per request")
	fs.IntVar(&bf.maxTokens, "max-tokens", 384, "tokens generated per request (EOS ignored)")
	fs.IntVar(&bf.budget, "kv-budget", 128, "compression budget (tokens per table)")
	fs.IntVar(&bf.every, "compress-every", 32, "compress when a table holds budget+N tokens")
	fs.IntVar(&bf.kvBlocks, "kv-blocks", 0, "KV pool blocks (0: room for clients x (prompt+max-tokens)/2 tokens, so full attention must preempt)")
	fs.StringVar(&bf.stats, "kv-stats", defaultStats, "TriAttention statistics file (\"\": calibrate on the fly on the benchmark text)")
	fs.StringVar(&bf.stats, "triattention-stats", defaultStats, "alias of --kv-stats")
	fs.IntVar(&bf.calibTokens, "calib-tokens", 2048, "tokens of on-the-fly TriAttention calibration")
	fs.DurationVar(&bf.timeout, "timeout", 15*time.Minute, "stop the whole benchmark after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if bf.clients < 1 || bf.requests < 1 || bf.prompt < 1 || bf.maxTokens < 1 {
		return fmt.Errorf("--clients, --requests, --prompt and --max-tokens must be >= 1")
	}
	m, workers, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	defer workers.Close()
	ctx, cancel := context.WithTimeout(context.Background(), bf.timeout)
	defer cancel()
	var rows []serveRow
	for _, pol := range strings.Split(bf.policies, ",") {
		row, err := benchPolicy(ctx, m, workers, &bf, strings.TrimSpace(pol))
		if err != nil {
			return fmt.Errorf("policy %s: %w", pol, err)
		}
		rows = append(rows, row)
	}
	printServeBench(m, workers, &bf, rows)
	return nil
}

// benchPolicy serves the model with one default policy on a loopback port
// and drives it with bf.clients concurrent streaming clients.
func benchPolicy(ctx context.Context, m *model.Model, workers *parallel.Pool, bf *benchServeFlags, pol string) (serveRow, error) {
	row := serveRow{policy: pol}
	sf := serveFlags{maxBatch: 512, maxSeqs: bf.clients, maxQ: bf.requests + 1, policy: pol, budget: bf.budget, every: bf.every,
		stats: bf.stats, maxBody: 1 << 20, writeTimeout: time.Minute, readTimeout: time.Minute}
	if pol == "triattention" && sf.stats == "" {
		path, err := calibrateForBench(m, workers, bf)
		if err != nil {
			return row, err
		}
		defer os.RemoveAll(filepath.Dir(path))
		sf.stats = path
	}
	blocks := bf.kvBlocks
	if blocks == 0 {
		c := &m.Config
		tokens := bf.clients * (bf.prompt + bf.maxTokens) / 2
		blocks = c.Layers * c.KVHeads * ((tokens + 15) / 16)
	}
	kf := kvFlags{blocks: blocks, blockSize: 16, dtype: "f16"}
	srv, kvp, err := newServer(m, workers, &kf, &sf)
	if err != nil {
		return row, err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return row, err
	}
	hs := srv.HTTPServer(ln.Addr().String())
	go hs.Serve(ln)
	defer hs.Close()
	fmt.Fprintf(os.Stderr, "bench serve: %s: %d requests, %d clients, pool %d blocks\n", pol, bf.requests, bf.clients, kvp.Total())
	row.requests = bf.requests
	start := time.Now()
	runClients(ctx, "http://"+ln.Addr().String(), benchPrompt(m, bf.prompt), bf, &row)
	row.wall = time.Since(start)
	st := srv.Engine().Stats()
	row.preemptions, row.evicted, row.reclaimed = st.Preemptions, st.KVTokensEvicted, st.KVBlocksReclaimed
	ps := kvp.Stats()
	row.peakMiB = float64(int64(ps.PeakUsed)*ps.BlockBytes) / (1 << 20)
	return row, nil
}

// calibrateForBench computes TriAttention statistics on the benchmark text
// into a temporary file.
func calibrateForBench(m *model.Model, workers *parallel.Pool, bf *benchServeFlags) (string, error) {
	fmt.Fprintf(os.Stderr, "bench serve: no --kv-stats: calibrating TriAttention on %d tokens of the benchmark text\n", bf.calibTokens)
	ids := benchPrompt(m, bf.calibTokens)
	bos := int32(-1)
	if m.Tokenizer.AddBOS() {
		bos, ids = m.Tokenizer.BOS(), ids[1:]
	}
	st, err := compress.Calibrate(m, workers, ids, compress.CalibrateOptions{Tokens: bf.calibTokens, Window: min(1024, m.Config.Context),
		BOS: bos, Text: "kvpack bench serve prompt"})
	if err != nil {
		return "", fmt.Errorf("calibrate: %w", err)
	}
	dir, err := os.MkdirTemp("", "kvpack-bench-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "triattention.safetensors")
	return path, st.Write(path)
}

// runClients sends bf.requests streaming completions from bf.clients
// goroutines and records latencies into row.
func runClients(ctx context.Context, base string, prompt []int32, bf *benchServeFlags, row *serveRow) {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range bf.clients {
		wg.Go(func() {
			for next.Add(1) <= int64(bf.requests) && ctx.Err() == nil {
				r := streamOnce(ctx, base, prompt, bf.maxTokens)
				mu.Lock()
				if r.err != nil {
					row.failed++
					fmt.Fprintf(os.Stderr, "bench serve: request failed: %v\n", r.err)
				}
				row.tokens += r.tokens
				if r.ttft > 0 {
					row.ttft = append(row.ttft, r.ttft)
				}
				row.itl = append(row.itl, r.gaps...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// streamResult is one request's client-side measurement.
type streamResult struct {
	tokens int
	ttft   time.Duration
	gaps   []time.Duration
	err    error
}

// streamOnce runs one streaming completion and times its chunks.
func streamOnce(ctx context.Context, base string, prompt []int32, n int) (r streamResult) {
	body, _ := json.Marshal(map[string]any{"prompt": prompt, "max_tokens": n, "temperature": 0, "ignore_eos": true, "stream": true,
		"stream_options": map[string]bool{"include_usage": true}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		return streamResult{err: err}
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return streamResult{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return streamResult{err: fmt.Errorf("status %s", resp.Status)}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	last := start
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct{ Text string } `json:"choices"`
			Usage   *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
			Error *struct{ Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return streamResult{err: err}
		}
		now := time.Now()
		switch {
		case chunk.Error != nil:
			r.err = fmt.Errorf("stream error: %s", chunk.Error.Message)
		case chunk.Usage != nil:
			r.tokens = chunk.Usage.CompletionTokens
		case len(chunk.Choices) == 1 && chunk.Choices[0].Text != "":
			if r.ttft == 0 {
				r.ttft = now.Sub(start)
			} else {
				r.gaps = append(r.gaps, now.Sub(last))
			}
			last = now
		}
	}
	if err := sc.Err(); err != nil && r.err == nil {
		r.err = err
	}
	return r
}

func printServeBench(m *model.Model, workers *parallel.Pool, bf *benchServeFlags, rows []serveRow) {
	fmt.Printf("model %s (%s), %d threads | %d requests x (%d prompt + %d generated tokens), %d clients | compression budget %d, every %d\n",
		m.Source, m.FileType, workers.Workers(), bf.requests, bf.prompt, bf.maxTokens, bf.clients, bf.budget, bf.every)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "policy\tok\tgen tokens\twall s\ttok/s\tTTFT p50 ms\tTTFT p95 ms\tITL p50 ms\tITL p95 ms\tpreemptions\tevicted\tblocks freed\tpeak KV MiB\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d/%d\t%d\t%.1f\t%.1f\t%.0f\t%.0f\t%.1f\t%.1f\t%d\t%d\t%d\t%.1f\t\n",
			r.policy, r.requests-r.failed, r.requests, r.tokens, r.wall.Seconds(), float64(r.tokens)/r.wall.Seconds(),
			pct(r.ttft, 50), pct(r.ttft, 95), pct(r.itl, 50), pct(r.itl, 95), r.preemptions, r.evicted, r.reclaimed, r.peakMiB)
	}
	w.Flush()
}

// pct is the p-th percentile of ds in milliseconds (0 when empty).
func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p+99)/100-1)
	return float64(s[max(i, 0)]) / float64(time.Millisecond)
}
