package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/tokenizer"
)

// calibrateCmd computes TriAttention's per-head query statistics for a model
// from a plain-text file and writes them as a statistics file (see
// internal/compress/stats.go for the format).
func calibrateCmd(args []string) error {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	var mf modelFlags
	mf.register(fs)
	textPath := fs.String("text", "", "plain-text file to run the model over (required)")
	tokens := fs.Int("tokens", compress.DefaultCalibTokens, "calibration tokens (BOS included)")
	window := fs.Int("window", compress.DefaultCalibWindow, "tokens per independent window (fresh cache, positions from 0)")
	chunk := fs.Int("prefill-chunk", compress.DefaultCalibChunk, "tokens per forward pass")
	out := fs.String("o", "", "output statistics file, e.g. stats/<model>.triattention.safetensors (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *textPath == "" || *out == "" {
		return fmt.Errorf("--text and -o are required")
	}
	text, err := os.ReadFile(*textPath)
	if err != nil {
		return err
	}
	m, pool, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	defer pool.Close()
	ids := tokenizePrefix(m.Tokenizer, text, *tokens)
	bos := int32(-1)
	if m.Tokenizer.AddBOS() {
		bos = m.Tokenizer.BOS()
	}
	bar := progressbar.NewOptions(min(*tokens, len(ids)+len(ids)/max(*window-1, 1)+1),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("calibrating"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("tok"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionFullWidth())
	start := time.Now()
	st, err := compress.Calibrate(m, pool, ids, compress.CalibrateOptions{
		Tokens: *tokens, Window: *window, Chunk: *chunk, BOS: bos, Text: filepath.Base(*textPath),
		Progress: func(done, total int) {
			bar.ChangeMax(total)
			_ = bar.Set(done)
		},
	})
	_ = bar.Finish()
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	if err := st.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d layers x %d heads x %d bands from %d tokens of %s in %.1fs (threads: %d)\n",
		*out, st.Meta.Layers, st.Meta.Heads, st.Meta.Bands, st.Meta.Tokens, st.Meta.Text, time.Since(start).Seconds(), pool.Workers())
	return nil
}

// tokenizePrefix tokenizes enough of the text (without BOS) for n tokens,
// growing the prefix until it yields them or the text ends.
func tokenizePrefix(tk *tokenizer.Tokenizer, text []byte, n int) []int32 {
	for size := 8 * n; ; size *= 2 {
		if size >= len(text) {
			return tk.Encode(string(text), false, false)
		}
		if ids := tk.Encode(string(text[:size]), false, false); len(ids) > n {
			return ids[:n]
		}
	}
}
