package compress

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/kvpack/kvpack/internal/model"
)

// rkvPolicy is R-KV (Cai et al.: "R-KV: Redundancy-aware KV Cache Compression
// for Reasoning Models", 2025), as the TriAttention repository's baseline
// runs it (§5.1 of docs/triattention.md):
//
//	score = λ·attention − (1−λ)·redundancy, λ = 0.1
//
// attention is SnapKV's pooled window attention (snapkv.go). redundancy: the
// cosine similarity S between the table's keys (post-RoPE, as cached; each
// normalized by |k| + 1e-8), diagonal 0; for each row i the last key j in
// position order with S[i][j] > 0.5 is zeroed ("retain last": the newest
// near-duplicate is not held against i's column; a row without such a key is
// left as is); then the mean over rows gives a per-key redundancy, which is
// softmax-normalized over the table's keys. Defaults: window 8 (query window
// and recent guard), no sinks. Cost: O(n²·HeadDim) per table.
type rkvPolicy struct{ window int }

const (
	rkvLambda    = 0.1 // mix_lambda
	rkvThreshold = 0.5 // similarity threshold of the retain rule
)

func newRKV(cfg Config, _ *model.Config) (Policy, error) {
	return rkvPolicy{window: windowOf(cfg)}, nil
}

func (p rkvPolicy) Name() string { return "rkv" }
func (p rkvPolicy) Needs() Needs { return Needs{QueryWindow: p.window} }

// Scores mixes pooled window attention with key redundancy for every table.
func (p rkvPolicy) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	win, err := rotatedWindows(in, p.window)
	if err != nil {
		return fmt.Errorf("rkv: %w", err)
	}
	return eachTable(in, func(l, g int) error {
		keys, pos, err := readKeys(in.Seq.Table(l, g), in.Model.HeadDim, nil, nil)
		if err != nil {
			return err
		}
		att := windowAttention(in.Seq.Shape(), g, keys, pos, win[l], make([]float32, len(pos)))
		out := dst[l][g]
		maxPool(att, pos, snapPool, out)
		red := redundancy(keys, pos, in.Model.HeadDim)
		for j := range out {
			out[j] = float32(rkvLambda*float64(out[j]) - (1-rkvLambda)*red[j])
		}
		return nil
	})
}

// redundancy returns, per slot, the softmax over keys of the mean over rows of
// the masked cosine-similarity matrix (see rkvPolicy).
func redundancy(keys []float32, pos []int32, hd int) []float64 {
	n := len(pos)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(pos[a], pos[b]) })
	kn := make([]float32, n*hd) // normalized keys in position order
	for i, s := range order {
		k := keys[s*hd : (s+1)*hd]
		inv := float32(1 / (math.Sqrt(float64(dot32(k, k))) + 1e-8))
		for e, x := range k {
			kn[i*hd+e] = x * inv
		}
	}
	sim := make([]float32, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			s := dot32(kn[i*hd:(i+1)*hd], kn[j*hd:(j+1)*hd])
			sim[i*n+j], sim[j*n+i] = s, s
		}
	}
	col := make([]float64, n)
	for i := range n {
		row := sim[i*n : (i+1)*n]
		for j := n - 1; j >= 0; j-- {
			if row[j] > rkvThreshold {
				row[j] = 0
				break
			}
		}
		for j, s := range row {
			col[j] += float64(s)
		}
	}
	m := math.Inf(-1)
	for j := range col {
		col[j] /= float64(n)
		m = math.Max(m, col[j])
	}
	var sum float64
	for j := range col {
		col[j] = math.Exp(col[j] - m)
		sum += col[j]
	}
	red := make([]float64, n)
	for i, s := range order {
		red[s] = col[i] / sum
	}
	return red
}
