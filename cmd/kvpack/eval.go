package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/eval"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

const defaultEvalText = "../shared/data/texts/emma.txt"

func evalCmd(args []string) error {
	subs := map[string]func(*evalEnv, []string) error{
		"fidelity": evalFidelity, "recall": evalRecall, "divergence": evalDivergence, "gsm8k": evalGSM8K, "blockmap": evalBlockMap,
	}
	if len(args) == 0 || subs[args[0]] == nil {
		return fmt.Errorf("usage: kvpack eval fidelity|recall|divergence|gsm8k|blockmap [flags]")
	}
	return subs[args[0]](&evalEnv{name: args[0]}, args[1:])
}

// evalEnv holds the flags every eval subcommand shares and what they load.
type evalEnv struct {
	name                string
	mf                  modelFlags
	text, policies      string
	budgets, stats, cmp string
	jsonOut, mdOut      string
	every, chunk        int
	m                   *model.Model
	pool                *parallel.Pool
}

func (e *evalEnv) register(fs *flag.FlagSet, budgets string) {
	e.mf.register(fs)
	fs.StringVar(&e.text, "text", defaultEvalText, "text file (a novel)")
	fs.StringVar(&e.policies, "policies", "none,streaming,h2o,tova,snapkv,rkv,triattention", "policies to compare (none = full cache, always included)")
	fs.StringVar(&e.budgets, "budgets", budgets, "KV budgets (tokens per table)")
	fs.IntVar(&e.every, "compress-every", compress.DefaultCompressEvery, "a round fires when a table reaches budget + this many tokens")
	fs.StringVar(&e.stats, "triattention-stats", defaultStats, "TriAttention statistics file")
	fs.StringVar(&e.cmp, "compaction", compress.CompactRepack, "repack or holefill")
	fs.IntVar(&e.chunk, "prefill-chunk", 128, "prefill chunk (compression runs between chunks)")
	fs.StringVar(&e.jsonOut, "json", "", "write results as JSON to this file")
	fs.StringVar(&e.mdOut, "md", "", "write a markdown report (with the command line) to this file")
}

func (e *evalEnv) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, pool, err := e.mf.load()
	if err != nil {
		return err
	}
	e.m, e.pool = m, pool
	return nil
}

func (e *evalEnv) close() {
	if e.m != nil {
		e.m.Close()
		e.pool.Close()
	}
}

// maker returns a Set factory for prompts of a given length, holding up to total positions.
func (e *evalEnv) maker(specs []eval.Spec, total func(promptLen int) int) func(int) (*eval.Set, error) {
	return func(promptLen int) (*eval.Set, error) {
		su := &eval.Setup{Model: e.m, Pool: e.pool, Specs: specs, Tokens: total(promptLen), Chunk: e.chunk,
			Base: compress.Config{CompressEvery: e.every, Stats: e.stats, Compaction: e.cmp}}
		return eval.NewSet(su, promptLen)
	}
}

func (e *evalEnv) specs() ([]eval.Spec, error) { return eval.Specs(e.policies, e.budgets) }

func (e *evalEnv) readText() (string, error) {
	b, err := os.ReadFile(e.text)
	if err != nil {
		return "", fmt.Errorf("eval: text: %w", err)
	}
	return string(b), nil
}

// textTokens tokenizes the text (BOS first when the model wants one).
func (e *evalEnv) textTokens() ([]int32, error) {
	s, err := e.readText()
	if err != nil {
		return nil, err
	}
	return e.m.Tokenizer.Encode(s, true, false), nil
}

// report prints the markdown body, writes --md (with the command line) and --json.
func (e *evalEnv) report(title, body string, v any) error {
	cmdline := "kvpack " + strings.Join(os.Args[1:], " ")
	md := fmt.Sprintf("# %s\n\nmodel `%s` (%s), %d threads, %s\n\n```\n%s\n```\n\n%s", title, e.m.Source, e.m.FileType,
		e.pool.Workers(), time.Now().UTC().Format("2006-01-02"), cmdline, body)
	fmt.Print(md)
	if e.mdOut != "" {
		if err := os.WriteFile(e.mdOut, []byte(md), 0o644); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	return eval.WriteJSON(e.jsonOut, v)
}

func newBar(n int, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(500*time.Millisecond))
}

func chatPrompt(tk *tokenizer.Tokenizer, q string) ([]int32, error) {
	text, err := tk.ApplyChatTemplate([]tokenizer.Message{{Role: "user", Content: eval.GSMPrompt + q}}, true)
	if err != nil { // a model without a chat template: plain text
		return tk.Encode(eval.GSMPrompt+"Question: "+q+"\nAnswer:", true, false), nil
	}
	return tk.Encode(text, true, true), nil
}

func evalFidelity(e *evalEnv, args []string) error {
	fs := flag.NewFlagSet("eval fidelity", flag.ContinueOnError)
	e.register(fs, "256,512,1024,2048")
	prefill := fs.Int("prefill", 512, "prompt tokens P")
	tokens := fs.Int("tokens", 4096, "teacher-forced tokens T")
	plotOut := fs.String("plot", "", "write the KV-memory plot (PNG) of the smallest budget's lanes here")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	defer e.close()
	specs, err := e.specs()
	if err != nil {
		return err
	}
	text, err := e.textTokens()
	if err != nil {
		return err
	}
	set, err := e.maker(specs, func(int) int { return *prefill + *tokens })(*prefill)
	if err != nil {
		return err
	}
	defer set.Release()
	bar := newBar(*tokens, "fidelity")
	res, err := eval.Fidelity(set, text, eval.FidelityOptions{Prefill: *prefill, Tokens: *tokens, Chunk: e.chunk,
		Progress: func(d, _ int) { bar.Set(d) }})
	bar.Finish()
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	if *plotOut != "" {
		if err := plotSmallest(res, specs, *plotOut); err != nil {
			return err
		}
	}
	return e.report("Teacher-forced fidelity vs full cache", eval.FidelityTable(res), res)
}

// plotSmallest plots the full lane and every lane at the smallest budget.
func plotSmallest(res *eval.FidelityResult, specs []eval.Spec, path string) error {
	small := 0
	for _, s := range specs {
		if s.Policy != "none" && (small == 0 || s.Budget < small) {
			small = s.Budget
		}
	}
	var sel []eval.Series
	for i, s := range specs {
		if s.Policy == "none" || s.Budget == small {
			sel = append(sel, res.Memory[i])
		}
	}
	title := fmt.Sprintf("KV memory held, budget %d, prefill %d (freed blocks, not evicted tokens)", small, res.Prefill)
	return eval.PlotMemory(sel, title, path)
}

func evalRecall(e *evalEnv, args []string) error {
	fs := flag.NewFlagSet("eval recall", flag.ContinueOnError)
	e.register(fs, "512")
	ctxs := fs.String("context", "2048", "context lengths in tokens, prompt and answer included (comma-separated)")
	depths := fs.String("depths", "10,50,90", "passkey depths in percent")
	kind := fs.String("filler", "garden", "haystack: garden (the classic repeated passage) or text (the --text novel)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	defer e.close()
	specs, err := e.specs()
	if err != nil {
		return err
	}
	ds, err := eval.ParseInts(*depths)
	if err != nil {
		return err
	}
	cs, err := eval.ParseInts(*ctxs)
	if err != nil {
		return err
	}
	if lim := e.m.Config.Context; lim > 0 && slices.Max(cs) > lim {
		return fmt.Errorf("eval recall: context %d exceeds the model's trained context %d", slices.Max(cs), lim)
	}
	filler, err := e.recallFiller(*kind, slices.Max(cs))
	if err != nil {
		return err
	}
	body, all := "", map[int][]eval.RecallRow{}
	for _, c := range cs {
		opt := eval.RecallOptions{Context: c, Chunk: e.chunk, Answer: 8, Seed: 1}
		for _, d := range ds {
			opt.Depths = append(opt.Depths, float64(d)/100)
		}
		rows, err := eval.Recall(e.maker(specs, func(n int) int { return n + 16 }), e.m.Tokenizer, filler, opt)
		if err != nil {
			return err
		}
		all[c] = rows
		body += fmt.Sprintf("## context %d tokens\n\n%s\n", c, eval.RecallTable(rows))
	}
	return e.report("Passkey recall with compression during the filler ("+*kind+" filler)", body, all)
}

// recallFiller builds the passkey haystack of at least n tokens.
func (e *evalEnv) recallFiller(kind string, n int) (eval.Filler, error) {
	switch kind {
	case "garden":
		return eval.GardenFiller(e.m.Tokenizer, n), nil
	case "text":
		raw, err := e.readText()
		if err != nil {
			return eval.Filler{}, err
		}
		return eval.TextFiller(e.m.Tokenizer.Encode(raw[:min(len(raw), 64*n)], false, false)), nil
	}
	return eval.Filler{}, fmt.Errorf("eval recall: --filler %q: want garden or text", kind)
}

func evalDivergence(e *evalEnv, args []string) error {
	fs := flag.NewFlagSet("eval divergence", flag.ContinueOnError)
	e.register(fs, "256,512")
	prompts := fs.Int("prompts", 8, "number of prompts (paragraph openings spread through the text)")
	context := fs.Int("context", 512, "prompt tokens: the text leading up to and including each paragraph's first line")
	n := fs.Int("n", 256, "greedy tokens to generate")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	defer e.close()
	specs, err := e.specs()
	if err != nil {
		return err
	}
	raw, err := e.readText()
	if err != nil {
		return err
	}
	ps := eval.ParagraphPrompts(e.m.Tokenizer, raw, *prompts, *context)
	if len(ps) == 0 {
		return fmt.Errorf("eval divergence: no paragraph found in %s", e.text)
	}
	rows, err := eval.Divergence(e.maker(specs, func(p int) int { return p + *n + 1 }), ps, *n, e.chunk)
	if err != nil {
		return err
	}
	return e.report("Greedy divergence from the full cache", eval.DivergenceTable(rows, *n), rows)
}

func evalGSM8K(e *evalEnv, args []string) error {
	fs := flag.NewFlagSet("eval gsm8k", flag.ContinueOnError)
	e.register(fs, "128,256")
	data := fs.String("data", "../shared/data/gsm8k/test.jsonl", "GSM8K jsonl")
	maxProb := fs.Int("max-problems", 5, "problems to run (from the top of the file)")
	n := fs.Int("n", 320, "maximum tokens per answer")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	defer e.close()
	specs, err := e.specs()
	if err != nil {
		return err
	}
	probs, err := eval.LoadGSM8K(*data, *maxProb)
	if err != nil {
		return err
	}
	prompt := func(q string) ([]int32, error) { return chatPrompt(e.m.Tokenizer, q) }
	rows, err := eval.GSM8K(e.maker(specs, func(p int) int { return p + *n + 1 }), e.m.Tokenizer, probs, prompt, *n, e.chunk)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("%d problems, greedy, up to %d tokens, answer = last \"#### N\" else last number\n\n%s", len(probs), *n, eval.GSMTable(rows))
	return e.report("GSM8K accuracy per policy", body, rows)
}

func evalBlockMap(e *evalEnv, args []string) error {
	fs := flag.NewFlagSet("eval blockmap", flag.ContinueOnError)
	e.register(fs, "256")
	policy := fs.String("policy", "triattention", "policy whose round is pictured (triattention: scattered evictions, so hole-fill visibly scrambles slot order)")
	round := fs.Int("round", 2, "which compression round to picture (hole-fill differs from repack from round 2 on; at round 2 both start from the same table)")
	out := fs.String("out", "docs/results/blockmap.png", "PNG: repack before | repack after | holefill before | holefill after")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	defer e.close()
	b, err := eval.ParseInts(e.budgets)
	if err != nil {
		return err
	}
	text, err := e.textTokens()
	if err != nil {
		return err
	}
	res := eval.BlockMapResult{Policy: *policy, Budget: b[0], CompressEvery: e.every, Round: *round}
	for _, mode := range []string{compress.CompactRepack, compress.CompactHoleFill} {
		e.cmp = mode
		m, err := blockMapCapture(e, eval.Spec{Policy: *policy, Budget: b[0]}, text, *round)
		if err != nil {
			return err
		}
		m.Mode = mode
		res.Modes = append(res.Modes, m)
	}
	if err := res.Figure().WritePNG(*out); err != nil {
		return err
	}
	body := fmt.Sprintf("![block map](%s)\n\n%s", filepathBase(*out), res.Report())
	return e.report("Block map before/after compaction: repack vs hole-fill", body, res)
}

// filepathBase is the last element of a slash path (the PNG sits next to the report).
func filepathBase(p string) string { return p[strings.LastIndex(p, "/")+1:] }

func blockMapCapture(e *evalEnv, sp eval.Spec, text []int32, round int) (eval.CompactionMap, error) {
	set, err := e.maker([]eval.Spec{sp}, func(int) int { return len(text) })(e.chunk)
	if err != nil {
		return eval.CompactionMap{}, err
	}
	defer set.Release()
	before, after, err := eval.CaptureRound(set, text, e.chunk, round)
	if err != nil {
		return eval.CompactionMap{}, err
	}
	return eval.CompactionMap{Before: before, After: after, Counts: eval.CountCompaction(before, after)}, nil
}
