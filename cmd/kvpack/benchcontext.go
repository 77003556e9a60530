package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/eval"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// ctxRow is one (context, engine/policy) measurement of `bench decode-context`.
type ctxRow struct {
	Context       int    // tokens in the cache at the last decode step
	Prefill       int    // prompt tokens before the decode steps
	Engine        string // "kvpack <policy>" or "llama.cpp"
	DecodeTokS    float64
	PrefillS      float64
	KVBytes       int64 // held at the end
	BlocksFreed   int
	CompressShare float64 // compression (score+select+compact) share of decode time
	CompactShare  float64 // compaction (moving slots, freeing blocks) share of decode time
}

func benchDecodeContext(args []string) error {
	fs := flag.NewFlagSet("bench decode-context", flag.ContinueOnError)
	var mf modelFlags
	mf.register(fs)
	ctxList := fs.String("context", "512,1024,2048,4096,8192", "context lengths at the last decode step (the prompt is context - n tokens); shorten the list to save time: 8192 prefills for minutes")
	policies := fs.String("policy", "none,triattention", "policies")
	budget := fs.Int("kv-budget", 1024, "tokens per table after a round")
	n := fs.Int("n", 256, "tokens to decode per configuration (>= --compress-every, so a decode-time round is timed)")
	stats := fs.String("triattention-stats", defaultStats, "TriAttention statistics file")
	peer := fs.Bool("llamacpp", true, "measure llama.cpp (full cache) in the same run")
	jsonOut := fs.String("json", "", "write rows as JSON here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctxs, err := parseInts(*ctxList)
	if err != nil {
		return err
	}
	m, pool, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	defer pool.Close()
	specs, err := eval.Specs(*policies, fmt.Sprint(*budget))
	if err != nil {
		return err
	}
	var rows []ctxRow
	for _, c := range ctxs {
		if c <= *n {
			return fmt.Errorf("bench decode-context: context %d must exceed -n %d", c, *n)
		}
		if lim := m.Config.Context; lim > 0 && c > lim {
			return fmt.Errorf("bench decode-context: context %d exceeds the model's trained context %d", c, lim)
		}
		// The prompt is sized so the last step sits at the context, never
		// past the model's trained length.
		ids := benchPrompt(m, c-*n)
		for _, sp := range specs {
			if !containsPolicy(*policies, sp.Policy) {
				continue
			}
			row, err := benchContextOne(m, pool, sp, compress.Config{Stats: *stats}, ids, *n)
			if err != nil {
				return err
			}
			rows = append(rows, row)
			fmt.Fprintf(os.Stderr, "context %d %s: %.1f tok/s\n", c, row.Engine, row.DecodeTokS)
		}
		if *peer {
			if row, err := benchContextPeer(mf.path, pool.Workers(), ids, *n); err != nil {
				fmt.Fprintf(os.Stderr, "llama.cpp peer unavailable: %v\n", err)
				*peer = false
			} else {
				rows = append(rows, row)
			}
		}
	}
	printContextBench(m, pool.Workers(), *budget, rows)
	return eval.WriteJSON(*jsonOut, rows)
}

// containsPolicy reports whether p is in the comma-separated list
// (eval.Specs always adds the full cache; the bench runs it only when listed).
func containsPolicy(list, p string) bool {
	for _, f := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(f), p) {
			return true
		}
	}
	return false
}

// benchContextOne prefills ids with one policy, then decodes n tokens greedily,
// timing each step including its compression round.
func benchContextOne(m *model.Model, pool *parallel.Pool, sp eval.Spec, base compress.Config, ids []int32, n int) (ctxRow, error) {
	su := &eval.Setup{Model: m, Pool: pool, Specs: []eval.Spec{sp}, Tokens: len(ids) + n + 1, Chunk: 512, Base: base}
	set, err := eval.NewSet(su, len(ids))
	if err != nil {
		return ctxRow{}, err
	}
	defer set.Release()
	t0 := time.Now()
	logits, err := set.Prefill(ids, su.Chunk)
	if err != nil {
		return ctxRow{}, err
	}
	row := ctxRow{Context: len(ids) + n, Prefill: len(ids), Engine: "kvpack " + sp.Policy, PrefillS: time.Since(t0).Seconds()}
	l := set.Lanes[0]
	busy0, tot0 := l.Busy, l.Comp.Totals()
	t1 := time.Now()
	for range n {
		if logits, err = set.Step([][]int32{{eval.Argmax(logits[0])}}); err != nil {
			return row, err
		}
	}
	d := time.Since(t1).Seconds()
	tot := l.Comp.Totals()
	row.DecodeTokS = float64(n) / d
	row.KVBytes = l.Bytes()
	row.BlocksFreed = tot.BlocksFreed
	row.CompressShare = (l.Busy - busy0).Seconds() / d
	row.CompactShare = (tot.CompactTime - tot0.CompactTime).Seconds() / d
	return row, nil
}

func benchContextPeer(path string, threads int, ids []int32, n int) (ctxRow, error) {
	row, err := benchLlamaCpp(path, ids, n, threads, 1)
	if err != nil {
		return ctxRow{}, err
	}
	return ctxRow{Context: len(ids) + n, Prefill: len(ids), Engine: "llama.cpp", DecodeTokS: row.decode, PrefillS: float64(len(ids)) / max(row.prefill, 1e-9)}, nil
}

func printContextBench(m *model.Model, threads, budget int, rows []ctxRow) {
	fmt.Printf("model %s (%s), %d threads, kv budget %d (blocks freed counts prefill rounds too)\n", m.Source, m.FileType, threads, budget)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "context\tprefill\tengine\tdecode tok/s\tvs llama.cpp\tprefill s\tKV MiB held\tblocks freed\tcompress share\tcompaction share\t")
	peer := map[int]float64{}
	for _, r := range rows {
		if r.Engine == "llama.cpp" {
			peer[r.Context] = r.DecodeTokS
		}
	}
	for _, r := range rows {
		ratio, kv := "", "-"
		if p, ok := peer[r.Context]; ok && r.Engine != "llama.cpp" {
			ratio = fmt.Sprintf("%.2fx", r.DecodeTokS/p)
		}
		if r.Engine != "llama.cpp" {
			kv = fmt.Sprintf("%.1f", float64(r.KVBytes)/(1<<20))
		}
		fmt.Fprintf(w, "%d\t%d\t%s\t%.1f\t%s\t%.1f\t%s\t%d\t%.1f%%\t%.2f%%\t\n", r.Context, r.Prefill, r.Engine, r.DecodeTokS, ratio, r.PrefillS,
			kv, r.BlocksFreed, 100*r.CompressShare, 100*r.CompactShare)
	}
	w.Flush()
	fmt.Println("decode tok/s over the last -n steps (the triattention lane's decode-time rounds included); llama.cpp keeps its full f16 cache")
}
