package model

import (
	"fmt"
	"math"

	"github.com/kvpack/kvpack/internal/parallel"
)

// KV is one sequence's key/value store as the forward pass sees it. Keys are
// stored after RoPE at their absolute positions and never re-rotated.
type KV interface {
	// Store appends the keys and values of T tokens of one layer.
	// k, v: [T][KVHeads*HeadDim]; pos: [T] absolute positions.
	Store(layer int, pos []int32, k, v []float32) error
	// Attend computes for each query t (q: [T][Heads*HeadDim], at position pos[t])
	// softmax(scale * q·K) V over the stored keys whose position is <= pos[t],
	// writing out: [T][Heads*HeadDim]. Query head h reads kv head h/GroupSize.
	Attend(layer int, pos []int32, q, out []float32, p *parallel.Pool)
}

// DenseKV is the simple contiguous reference store: per layer, K and V of every
// token in arrival order. It never evicts; the paged cache replaces it in serving.
type DenseKV struct {
	cfg  *Config
	max  int
	pos  [][]int32   // [layer][token]
	k, v [][]float32 // [layer][token*KVHeads*HeadDim]
}

// NewDenseKV makes a store for up to maxTokens tokens.
func NewDenseKV(cfg *Config, maxTokens int) *DenseKV {
	d := &DenseKV{cfg: cfg, max: maxTokens}
	d.pos = make([][]int32, cfg.Layers)
	d.k = make([][]float32, cfg.Layers)
	d.v = make([][]float32, cfg.Layers)
	return d
}

// Len is the number of tokens stored in layer 0.
func (d *DenseKV) Len() int { return len(d.pos[0]) }

// Bytes is the memory held by stored keys and values (float32).
func (d *DenseKV) Bytes() int64 {
	var n int64
	for l := range d.k {
		n += int64(len(d.k[l])+len(d.v[l])) * 4
	}
	return n
}

// Store implements KV.
func (d *DenseKV) Store(layer int, pos []int32, k, v []float32) error {
	if len(d.pos[layer])+len(pos) > d.max {
		return fmt.Errorf("kv cache full: %d tokens stored, %d more do not fit in %d", len(d.pos[layer]), len(pos), d.max)
	}
	d.pos[layer] = append(d.pos[layer], pos...)
	d.k[layer] = append(d.k[layer], k...)
	d.v[layer] = append(d.v[layer], v...)
	return nil
}

// Attend implements KV.
func (d *DenseKV) Attend(layer int, pos []int32, q, out []float32, p *parallel.Pool) {
	c := d.cfg
	hd, T := c.HeadDim, len(pos)
	p.For(T*c.Heads, 1, func(lo, hi int) {
		scores := make([]float32, len(d.pos[layer]))
		for i := lo; i < hi; i++ {
			t, h := i/c.Heads, i%c.Heads
			kvh := h / c.GroupSize()
			off := t*c.Heads*hd + h*hd
			attendHead(q[off:off+hd], d.k[layer], d.v[layer], d.pos[layer], pos[t], kvh, c.KVHeads, hd,
				c.AttnScale, scores, out[off:off+hd])
		}
	})
}

// attendHead is the direct softmax attention of one query head over a dense
// [n][kvHeads*hd] key/value layout; keys after position qpos are masked.
func attendHead(q, ks, vs []float32, kpos []int32, qpos int32, kvh, kvHeads, hd int, scale float32, scores, out []float32) {
	stride := kvHeads * hd
	maxS := float32(math.Inf(-1))
	for j, kp := range kpos {
		if kp > qpos {
			scores[j] = float32(math.Inf(-1))
			continue
		}
		k := ks[j*stride+kvh*hd : j*stride+kvh*hd+hd]
		var s float32
		for e := range k {
			s += q[e] * k[e]
		}
		s *= scale
		scores[j] = s
		if s > maxS {
			maxS = s
		}
	}
	var sum float64
	for j := range kpos {
		if math.IsInf(float64(scores[j]), -1) {
			scores[j] = 0
			continue
		}
		e := float32(math.Exp(float64(scores[j] - maxS)))
		scores[j] = e
		sum += float64(e)
	}
	clear(out)
	for j := range kpos {
		w := scores[j]
		if w == 0 {
			continue
		}
		v := vs[j*stride+kvh*hd : j*stride+kvh*hd+hd]
		for e := range out {
			out[e] += w * v[e]
		}
	}
	inv := float32(1 / sum)
	for e := range out {
		out[e] *= inv
	}
}
