package compress

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
)

// snapPolicy is SnapKV (Li et al.: "SnapKV: LLM Knows What You are Looking for
// Before Generation", NeurIPS 2024), as the TriAttention repository's baseline
// runs it (§5.1 of docs/triattention.md): the last w recorded queries (the
// observation window, post-RoPE) attend over the table; per query, the logits
// are reduced over the kv-head's query heads with max (the reference
// max-pools the logits over the GQA group before the softmax) and
// softmax-normalized over the keys that query can see (position <= its own);
// the probabilities are averaged over the window's queries and max-pooled
// over neighbouring tokens (kernel 7, stride 1, neighbours in position order,
// edges use the neighbours that exist). Top-k is per kv-head table.
// Defaults: window w = ProtectWindow = 8 (the newest 8 tokens are kept), no
// sinks. Difference from the reference: its softmax excludes the last w keys,
// here every visible key takes part (they are guarded anyway).
type snapPolicy struct{ window int }

// snapWindow is SnapKV's default observation window (window_size) and the
// default recent-token guard of snapkv and rkv.
const snapWindow = 8

// snapPool is SnapKV's max-pooling kernel size.
const snapPool = 7

func newSnapKV(cfg Config, _ *model.Config) (Policy, error) {
	return snapPolicy{window: windowOf(cfg)}, nil
}

// windowOf is the observation window for a resolved config.
func windowOf(cfg Config) int {
	if cfg.ProtectWindow > 0 {
		return cfg.ProtectWindow
	}
	return snapWindow
}

func (p snapPolicy) Name() string { return "snapkv" }
func (p snapPolicy) Needs() Needs { return Needs{QueryWindow: p.window} }

// Scores computes the pooled window attention of every table.
func (p snapPolicy) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	win, err := rotatedWindows(in, p.window)
	if err != nil {
		return fmt.Errorf("snapkv: %w", err)
	}
	return eachTable(in, func(l, g int) error {
		keys, pos, err := readKeys(in.Seq.Table(l, g), in.Model.HeadDim, nil, nil)
		if err != nil {
			return err
		}
		att := windowAttention(in.Seq.Shape(), g, keys, pos, win[l], make([]float32, len(pos)))
		maxPool(att, pos, snapPool, dst[l][g])
		return nil
	})
}

// queryWin is one layer's recorded queries after RoPE.
type queryWin struct {
	pos []int32   // [w]
	q   []float32 // [w][Heads*HeadDim]
}

// rotatedWindows rotates the last w recorded queries of every layer, once per round.
func rotatedWindows(in *Input, w int) ([]queryWin, error) {
	if in.Queries == nil {
		return nil, fmt.Errorf("no query window (record queries with Compressor.Queries())")
	}
	win := make([]queryWin, in.Seq.Shape().Layers)
	for l := range win {
		if in.Queries.Len(l) == 0 {
			return nil, fmt.Errorf("no queries recorded for layer %d", l)
		}
		pos, q := in.Queries.Rotated(l, nil, nil)
		if skip := len(pos) - w; skip > 0 {
			qd := len(q) / len(pos)
			pos, q = pos[skip:], q[skip*qd:]
		}
		win[l] = queryWin{pos: pos, q: q}
	}
	return win, nil
}

// windowAttention writes into out ([n]) the softmax attention of the window's
// queries over keys ([n][HeadDim] at positions pos), with logits max-reduced
// over the query heads of kv-head g, averaged over the queries that see at
// least one key. It returns out.
func windowAttention(sh kvcache.Shape, g int, keys []float32, pos []int32, win queryWin, out []float32) []float32 {
	hd, G := sh.HeadDim, sh.GroupSize()
	qd := sh.Heads * hd
	n := len(pos)
	logit := make([]float64, n)
	clear(out)
	seen := 0
	acc := make([]float64, n)
	for t, qp := range win.pos {
		m, vis := math.Inf(-1), false
		for j := range n {
			logit[j] = math.Inf(-1)
			if pos[j] > qp {
				continue
			}
			for h := g * G; h < (g+1)*G; h++ {
				q := win.q[t*qd+h*hd : t*qd+(h+1)*hd]
				logit[j] = math.Max(logit[j], float64(dot32(q, keys[j*hd:(j+1)*hd])*sh.Scale))
			}
			m, vis = math.Max(m, logit[j]), true
		}
		if !vis {
			continue
		}
		seen++
		var sum float64
		for j := range n {
			if !math.IsInf(logit[j], -1) {
				logit[j] = math.Exp(logit[j] - m)
				sum += logit[j]
			}
		}
		for j := range n {
			if !math.IsInf(logit[j], -1) {
				acc[j] += logit[j] / sum
			}
		}
	}
	if seen > 0 {
		for j := range n {
			out[j] = float32(acc[j] / float64(seen))
		}
	}
	return out
}

// maxPool writes into dst ([n]) the max of x over a window of k tokens
// centred on each token, neighbours taken in position order.
func maxPool(x []float32, pos []int32, k int, dst []float32) {
	n := len(x)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(pos[a], pos[b]) })
	r := k / 2
	for i, s := range order {
		m := x[s]
		for j := max(0, i-r); j <= min(n-1, i+r); j++ {
			m = max(m, x[order[j]])
		}
		dst[s] = m
	}
}

// dot32 is a·b in float32 over len(a) elements with four accumulators.
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
