package compress

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// Calibration of TriAttention's statistics (§2 of docs/triattention.md): run
// the model over plain text and average, per (layer, query head, band), the
// complex pre-RoPE query component and its magnitude. The model's Tap hands
// over exactly the tensor that enters RoPE (after biases and qwen3's q_norm).
// The text is cut into independent windows (fresh cache, positions from 0,
// BOS first when the model uses one), each prefilled in chunks; every token
// of every window counts.

// Calibration defaults.
const (
	DefaultCalibTokens = 32768
	DefaultCalibWindow = 2048
	DefaultCalibChunk  = 256
)

// CalibrateOptions controls Calibrate. Zero values take the defaults.
type CalibrateOptions struct {
	Tokens   int                   // tokens to run, BOS included (fewer when the text runs out)
	Window   int                   // tokens per independent window, at most the model's context
	Chunk    int                   // prefill chunk
	BOS      int32                 // token starting every window; negative for none
	Text     string                // text source, recorded in the metadata
	Progress func(done, total int) // optional: tokens done so far, after every chunk
}

// qAccum sums pre-RoPE query components per (layer, head, band) in float64.
type qAccum struct {
	mc          *model.Config
	re, im, abs []float64 // [L][H][F]
}

// tap has model.Tap's signature.
func (a *qAccum) tap(layer int, pos []int32, q, _ []float32) {
	c := a.mc
	F, hd := c.RopeDim/2, c.HeadDim
	for t := range pos {
		for h := range c.Heads {
			v := q[(t*c.Heads+h)*hd : (t*c.Heads+h+1)*hd]
			o := (layer*c.Heads + h) * F
			for f := range F {
				x, y := bandDims(c.Rope, c.RopeDim, f)
				re, im := float64(v[x]), float64(v[y])
				a.re[o+f] += re
				a.im[o+f] += im
				a.abs[o+f] += math.Hypot(re, im)
			}
		}
	}
}

// Calibrate runs m over the text tokens (without BOS; opt.BOS adds it per
// window) and returns the statistics.
func Calibrate(m *model.Model, pool *parallel.Pool, text []int32, opt CalibrateOptions) (*Stats, error) {
	opt.Tokens = orDefault(opt.Tokens, DefaultCalibTokens)
	opt.Window = orDefault(opt.Window, DefaultCalibWindow)
	opt.Chunk = orDefault(opt.Chunk, DefaultCalibChunk)
	c := &m.Config
	switch {
	case opt.Tokens < 1 || opt.Window < 2 || opt.Chunk < 1:
		return nil, fmt.Errorf("compress: calibrate: tokens %d, window %d, chunk %d", opt.Tokens, opt.Window, opt.Chunk)
	case c.Context > 0 && opt.Window > c.Context:
		return nil, fmt.Errorf("compress: calibrate: window %d exceeds the model's context of %d tokens", opt.Window, c.Context)
	}
	windows := calibWindows(text, opt)
	total := 0
	for _, w := range windows {
		total += len(w)
	}
	if total == 0 {
		return nil, fmt.Errorf("compress: calibrate: no text tokens")
	}
	n := c.Layers * c.Heads * (c.RopeDim / 2)
	acc := &qAccum{mc: c, re: make([]float64, n), im: make([]float64, n), abs: make([]float64, n)}
	r := model.NewRunner(m, pool)
	r.Tap = acc.tap
	done := 0
	for wi, w := range windows {
		kv := model.NewDenseKV(c, len(w))
		for s := 0; s < len(w); s += opt.Chunk {
			e := min(s+opt.Chunk, len(w))
			b := model.Batch{Tokens: w[s:e], Spans: []model.Span{{KV: kv, Start: 0, End: e - s}}}
			for p := s; p < e; p++ {
				b.Pos = append(b.Pos, int32(p))
			}
			if _, err := r.Forward(&b); err != nil {
				return nil, fmt.Errorf("compress: calibrate: window %d tokens %d..%d: %w", wi, s, e, err)
			}
			done += e - s
			if opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
	}
	return acc.stats(m, total, opt.Text), nil
}

// calibWindows cuts the text into windows of at most opt.Window tokens (BOS
// included) holding opt.Tokens tokens in all.
func calibWindows(text []int32, opt CalibrateOptions) [][]int32 {
	var out [][]int32
	left := opt.Tokens
	for len(text) > 0 && left > 0 {
		w := make([]int32, 0, min(opt.Window, left))
		if opt.BOS >= 0 {
			w = append(w, opt.BOS)
		}
		k := min(cap(w)-len(w), len(text))
		if k <= 0 {
			break
		}
		w = append(w, text[:k]...)
		text, left = text[k:], left-len(w)
		out = append(out, w)
	}
	return out
}

// stats turns the sums into means.
func (a *qAccum) stats(m *model.Model, tokens int, text string) *Stats {
	meta := MetaFor(&m.Config)
	meta.Model, meta.Source, meta.Tokens, meta.Text = filepath.Base(m.Source), m.Source, tokens, text
	s := NewStats(meta)
	inv := 1 / float64(tokens)
	for i := range a.re {
		s.QMeanRe[i] = float32(a.re[i] * inv)
		s.QMeanIm[i] = float32(a.im[i] * inv)
		s.QAbsMean[i] = float32(a.abs[i] * inv)
	}
	return s
}
