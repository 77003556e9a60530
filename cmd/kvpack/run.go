package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/engine"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/sample"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

const defaultModel = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

// modelFlags are the flags every model-loading command shares.
type modelFlags struct {
	path    string
	threads int
}

func (m *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.path, "model", defaultModel, "GGUF file or Hugging Face model directory")
	fs.IntVar(&m.threads, "threads", 0, "worker threads (0 = all cores)")
}

func (m *modelFlags) load() (*model.Model, *parallel.Pool, error) {
	if _, err := os.Stat(m.path); errors.Is(err, os.ErrNotExist) && m.path == defaultModel {
		return nil, nil, fmt.Errorf("default model %s is missing: run scripts/fetch-model.sh first", m.path)
	}
	mdl, err := model.Load(m.path)
	if err != nil {
		return nil, nil, err
	}
	return mdl, parallel.New(m.threads), nil
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var mf modelFlags
	mf.register(fs)
	var kf kvFlags
	kf.register(fs)
	var cf compressFlags
	cf.register(fs)
	prompt := fs.String("prompt", "", "prompt text (required)")
	n := fs.Int("n", 128, "tokens to generate")
	chat := fs.Bool("chat", false, "wrap the prompt as a user message in the model's chat template")
	system := fs.String("system", "", "system message for --chat")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating after an end-of-generation token")
	chunk := fs.Int("prefill-chunk", 256, "prompt tokens per forward pass")
	var sp sample.Params
	fs.Func("temp", "sampling temperature (0 = greedy, the default)", floatFlag(&sp.Temperature))
	fs.IntVar(&sp.TopK, "top-k", 40, "keep the k most likely tokens (0 = off)")
	fs.Func("top-p", "nucleus sampling mass (default 0.95; 1 = off)", floatFlag(&sp.TopP))
	fs.Func("min-p", "drop tokens below this fraction of the best one's probability (default 0.05)", floatFlag(&sp.MinP))
	fs.Func("repeat-penalty", "repetition penalty (1 = off, the default)", floatFlag(&sp.RepeatPenalty))
	fs.IntVar(&sp.RepeatLastN, "repeat-last-n", 64, "tokens the repetition penalty looks back")
	fs.Uint64Var(&sp.Seed, "seed", 0, "random seed for sampling")
	sp.TopP, sp.MinP = 0.95, 0.05
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *prompt == "" {
		return fmt.Errorf("--prompt is required")
	}
	m, pool, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	defer pool.Close()
	text, parseSpecial := *prompt, false
	if *chat {
		var msgs []tokenizer.Message
		if *system != "" {
			msgs = append(msgs, tokenizer.Message{Role: "system", Content: *system})
		}
		msgs = append(msgs, tokenizer.Message{Role: "user", Content: *prompt})
		if text, err = m.Tokenizer.ApplyChatTemplate(msgs, true); err != nil {
			return err
		}
		parseSpecial = true
	}
	ids := m.Tokenizer.Encode(text, true, parseSpecial)
	opt := engine.Options{MaxTokens: *n, Sample: sp, IgnoreEOS: *ignoreEOS, PrefillChunk: *chunk}
	kvp, err := kf.pool(&m.Config, len(ids)+opt.MaxTokens)
	if err != nil {
		return err
	}
	return generateToStdout(m, pool, kvp, &cf, ids, opt)
}

func generateToStdout(m *model.Model, pool *parallel.Pool, kvp *kvcache.Pool, cf *compressFlags, ids []int32, opt engine.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	kv := kvcache.NewSequence(kvp)
	defer kv.Release()
	r := model.NewRunner(m, pool)
	comp, err := cf.compressor(m, kv, r, pool, len(ids))
	if err != nil {
		return err
	}
	opt.AfterStep = func() error { _, err := comp.AfterStep(); return err }
	out := bufio.NewWriter(os.Stdout)
	dec := m.Tokenizer.NewStreamDecoder()
	st, err := engine.Generate(ctx, r, kv, ids, opt, func(id int32) error {
		if !m.Tokenizer.IsEOG(id) {
			out.WriteString(dec.Write(id))
		}
		return out.Flush()
	})
	out.WriteString(dec.Flush())
	out.WriteString("\n")
	out.Flush()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nprompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | stop: %s | threads: %d\n",
		st.PromptTokens, st.PrefillTokPerSec(), st.GenTokens, st.DecodeTokPerSec(), st.StopReason, pool.Workers())
	printKVStats(kv, kvp, comp, st)
	return nil
}

// printKVStats reports what the cache held and what compression gave back.
func printKVStats(kv *kvcache.Sequence, kvp *kvcache.Pool, comp *compress.Compressor, st engine.Stats) {
	ps, tot := kvp.Stats(), comp.Totals()
	fmt.Fprintf(os.Stderr, "kv: policy %s | %d positions, %d bytes held in %d blocks at the end, peak %d blocks (%d bytes) of %d | %d B/block, %v\n",
		comp.Config().Policy, kv.Len(), kv.Bytes(), kv.Blocks(), ps.PeakUsed, int64(ps.PeakUsed)*ps.BlockBytes, ps.Total, ps.BlockBytes, kvp.DType())
	if tot.Rounds == 0 {
		return
	}
	spent := tot.ScoreTime + tot.SelectTime + tot.CompactTime
	fmt.Fprintf(os.Stderr, "compression: %d rounds | %d token slots evicted over %d tables | %d blocks freed (%d bytes) | %d slots copied | %v spent, %.1f%% of generation time\n",
		tot.Rounds, tot.Evicted, kv.Shape().Layers*kv.Shape().KVHeads, tot.BlocksFreed, tot.BytesFreed, tot.Copies, spent.Round(time.Millisecond), 100*spent.Seconds()/max(st.Decode.Seconds()+st.Prefill.Seconds(), 1e-9))
}

func floatFlag(dst *float32) func(string) error {
	return func(s string) error {
		var v float64
		if _, err := fmt.Sscan(s, &v); err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		*dst = float32(v)
		return nil
	}
}
