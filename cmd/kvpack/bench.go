package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kvpack/kvpack/internal/engine"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/membw"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
)

func benchCmd(args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		return benchServe(args[1:])
	}
	if len(args) > 0 && args[0] == "membw" {
		return benchMembw(args[1:])
	}
	if len(args) > 0 && args[0] == "decode-context" {
		return benchDecodeContext(args[1:])
	}
	if len(args) == 0 || args[0] != "decode" {
		return fmt.Errorf("usage: kvpack bench decode|decode-context|membw|serve [flags]")
	}
	if hasFlag(args[1:], "context", "policy", "kv-budget") {
		return benchDecodeContext(args[1:]) // bench decode --context ... is the long-context sweep
	}
	return benchDecode(args[1:])
}

// kvDType is the KV element type kvpack benchmarks with.
var kvDType = "f16"

// benchRow is one measured configuration.
type benchRow struct {
	engine           string
	threads          int
	prefill, decode  float64 // tok/s
	prompt, generate int
	membw            float64 // GB/s the machine reads at this thread count
}

// hasFlag reports whether args set any of the named flags.
func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == "-"+n || a == "--"+n || strings.HasPrefix(a, "-"+n+"=") || strings.HasPrefix(a, "--"+n+"=") {
				return true
			}
		}
	}
	return false
}

func benchDecode(args []string) error {
	fs := flag.NewFlagSet("bench decode", flag.ContinueOnError)
	path := fs.String("model", defaultModel, "GGUF file")
	threadList := fs.String("threads", "1,2", "comma-separated thread counts")
	prompt := fs.Int("prompt", 256, "prompt tokens (prefill)")
	n := fs.Int("n", 128, "tokens to decode")
	peer := fs.Bool("llamacpp", true, "measure llama.cpp (node-llama-cpp) in the same run")
	reps := fs.Int("reps", 2, "repetitions per configuration (best is reported)")
	fs.StringVar(&kvDType, "kv-dtype", "f16", "kvpack's KV element type: f16 or f32 (llama.cpp uses its default, f16)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	threads, err := parseInts(*threadList)
	if err != nil {
		return err
	}
	m, err := model.Load(*path)
	if err != nil {
		return err
	}
	defer m.Close()
	ids := benchPrompt(m, *prompt)
	var rows []benchRow
	bw := map[int]float64{} // measured first, so the buffer is gone before the engines run
	meter := membw.New(membw.DefaultSize)
	for _, th := range threads {
		bw[th] = measureMembw(meter, th, 3).GBps
	}
	meter = nil
	for _, th := range threads {
		row, err := benchKvpack(m, ids, *n, th, *reps)
		if err != nil {
			return err
		}
		row.membw = bw[th]
		rows = append(rows, row)
		if *peer {
			prow, err := benchLlamaCpp(*path, ids, *n, th, *reps)
			if err != nil {
				fmt.Fprintf(os.Stderr, "llama.cpp peer unavailable: %v\n", err)
				*peer = false
				continue
			}
			prow.membw = bw[th]
			rows = append(rows, prow)
		}
	}
	printBench(m, rows)
	return nil
}

// benchPrompt tokenizes a slice of public-domain-style prose and repeats it to
// exactly n tokens (with BOS first when the model wants it).
func benchPrompt(m *model.Model, n int) []int32 {
	text := "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. "
	var ids []int32
	if m.Tokenizer.AddBOS() {
		ids = append(ids, m.Tokenizer.BOS())
	}
	piece := m.Tokenizer.Encode(text, false, false)
	for len(ids) < n {
		ids = append(ids, piece...)
	}
	return ids[:n]
}

func benchKvpack(m *model.Model, ids []int32, n, threads, reps int) (benchRow, error) {
	pool := parallel.New(threads)
	defer pool.Close()
	best := benchRow{engine: "kvpack", threads: threads, prompt: len(ids), generate: n}
	r := model.NewRunner(m, pool)
	kf := kvFlags{blockSize: kvcache.DefaultBlockSize, dtype: kvDType}
	kvp, err := kf.pool(&m.Config, len(ids)+n+1)
	if err != nil {
		return best, err
	}
	for i := 0; i < reps; i++ {
		kv := kvcache.NewSequence(kvp)
		opt := engine.Options{MaxTokens: n + 1, IgnoreEOS: true, PrefillChunk: 512}
		st, err := engine.Generate(context.Background(), r, kv, ids, opt, func(int32) error { return nil })
		kv.Release()
		if err != nil {
			return best, err
		}
		best.prefill = max(best.prefill, st.PrefillTokPerSec())
		best.decode = max(best.decode, st.DecodeTokPerSec())
	}
	return best, nil
}

func benchLlamaCpp(path string, ids []int32, n, threads, reps int) (benchRow, error) {
	if err := oracle.Available(); err != nil {
		return benchRow{}, err
	}
	c := oracle.Client{Model: path, Threads: threads, Context: len(ids) + n + 16, Timeout: 10 * time.Minute}
	ops := make([]oracle.Op, reps)
	for i := range ops {
		ops[i] = oracle.Op{Op: "bench", IDs: ids, N: n}
	}
	resp, err := c.Do(oracle.Request{Ops: ops})
	if err != nil {
		return benchRow{}, err
	}
	best := benchRow{engine: "llama.cpp", threads: threads, prompt: len(ids), generate: n}
	for _, r := range resp.Results {
		best.prefill = max(best.prefill, r.PrefillTokPerSec())
		best.decode = max(best.decode, r.DecodeTokPerSec())
	}
	return best, nil
}

func printBench(m *model.Model, rows []benchRow) {
	fmt.Printf("model %s (%s, %s), best of reps\n", m.Source, m.Config.Arch, m.FileType)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "engine\tthreads\tprompt\tprefill tok/s\tdecode tok/s\tprefill ratio\tdecode ratio\tdecode GB/s\tmembw GB/s\t")
	peer := map[int]benchRow{}
	for _, r := range rows {
		if r.engine == "llama.cpp" {
			peer[r.threads] = r
		}
	}
	for _, r := range rows {
		pr, dr := "", ""
		if p, ok := peer[r.threads]; ok && r.engine == "kvpack" {
			pr, dr = fmt.Sprintf("%.2fx", r.prefill/p.prefill), fmt.Sprintf("%.2fx", r.decode/p.decode)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.1f\t%.1f\t%s\t%s\t%.1f\t%.1f\t\n", r.engine, r.threads, r.prompt, r.prefill, r.decode, pr, dr,
			decodeBytes(m, r.prompt+r.generate/2, kvElemBytes(r.engine))*r.decode/1e9, r.membw)
	}
	w.Flush()
	fmt.Println("decode GB/s: weights + KV read per step (at the mean context) x decode tok/s; membw: `kvpack bench membw`, same run")
}

// kvElemBytes is the KV element size of an engine's rows: llama.cpp keeps
// its default f16 cache, kvpack the --kv-dtype of the run.
func kvElemBytes(engine string) int {
	if engine == "kvpack" && kvDType == "f32" {
		return 4
	}
	return 2
}

// decodeBytes is what one decode step at context ctx reads: every weight
// matrix once plus the K and V of ctx tokens (elements of elem bytes).
func decodeBytes(m *model.Model, ctx, elem int) float64 {
	c := &m.Config
	kv := int64(c.Layers) * int64(c.KVHeads) * int64(c.HeadDim) * 2 * int64(elem)
	return float64(m.WeightBytes() + int64(ctx)*kv)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad number %q in list %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}
