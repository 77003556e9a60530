package compress

import (
	"fmt"
	"math"
	"slices"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
)

// TriAttention (Mao, Lin, Huang, Xie, Fu, Zhuang, Han, Chen: "TriAttention",
// ICML 2026; docs/triattention.md) scores cached keys without attention
// scores, from calibrated pre-RoPE query statistics (stats.go): Q̄_f, the
// complex mean, and M_f, the mean magnitude, per (layer, query head, band).
//
// Score of a cached post-RoPE key kr at round position t (= Input.Next) for
// query head h, mean over offsets δ ∈ D = {1, 2, 4, …, 65536}:
//
//	S = mean_δ Σ_f Re(Q̄_f · conj(Kr_f) · e^{iω_f (t+δ)}) + Σ_f (M_f − |Q̄_f|)·|Kr_f|
//
// (RoPE's attention scaling s_f is 1 for the supported models). Computed in
// the closed linear form of §1.5: with W_f = mean_δ e^{iω_f δ} and
// C_f = Q̄_f·e^{iω_f t}·W_f, S = ⟨w_t, kr⟩ + Σ_f c_f·|Kr_f| where w_t places
// (Re C_f, Im C_f) at band f's two dims and c_f = M_f − |Q̄_f|: per round w_t
// once per query head, per key one HeadDim dot product and Bands magnitudes.
// ω_f = theta^(-2f/RopeDim) / RopeFreqs[f]; bands pair dims as the model's
// RoPE does (rope.go); dims past RopeDim (partial RoPE) are not scored.
//
// Normalization and reduction: z-score per (layer, query head) over all the
// table's tokens (prompt included, as the vLLM path does), population std
// clamped to 1e-6; max over the kv-head's query heads; then
//   - per_head (default): mean over layers, one plan per kv-head g applied to
//     the table of g in every layer;
//   - per_layer_per_head: each (layer, kv-head) table selects on its own.
//
// Defaults (vLLM runtime semantics): B 2048, N 128, ProtectWindow 128, prompt
// not protected, no sinks. No tie-break noise: Select's deterministic
// tie-break replaces the HF path's 1e-6 uniform noise.
type TriAttention struct {
	mode        string
	rope        model.RopeStyle
	hd, ropeDim int
	heads, kvh  int
	omega       []float64 // [F]
	wRe, wIm    []float64 // [F] W_f = mean_δ e^{iω_f δ}
	qRe, qIm    []float64 // [L][H][F] Q̄_f
	norm        []float32 // [L][H][F] M_f − |Q̄_f|
}

// triOffsetMax is the largest future offset (offset_max_length); D holds the
// powers of two up to it.
const triOffsetMax = 65536

// zClamp is the lower bound of the standard deviation in the z-score.
const zClamp = 1e-6

func newTriAttentionFromConfig(cfg Config, mc *model.Config) (Policy, error) {
	st, err := LoadStats(cfg.Stats)
	if err != nil {
		return nil, err
	}
	return NewTriAttention(st, mc, cfg.Mode)
}

// NewTriAttention builds the policy from loaded statistics, which must match
// the model (Stats.Check). mode is ModePerHead ("" too) or ModePerLayerPerHead.
func NewTriAttention(st *Stats, mc *model.Config, mode string) (*TriAttention, error) {
	if mode == "" {
		mode = ModePerHead
	}
	if mode != ModePerHead && mode != ModePerLayerPerHead {
		return nil, fmt.Errorf("compress: unknown triattention mode %q (want %s or %s)", mode, ModePerHead, ModePerLayerPerHead)
	}
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("compress: triattention stats: %w", err)
	}
	if err := st.Check(mc); err != nil {
		return nil, err
	}
	p := &TriAttention{mode: mode, rope: mc.Rope, hd: mc.HeadDim, ropeDim: mc.RopeDim, heads: mc.Heads, kvh: mc.KVHeads}
	p.omega = omegas(mc)
	p.wRe, p.wIm = offsetMeans(p.omega)
	n := len(st.QMeanRe)
	p.qRe, p.qIm, p.norm = make([]float64, n), make([]float64, n), make([]float32, n)
	for i := range n {
		re, im := float64(st.QMeanRe[i]), float64(st.QMeanIm[i])
		p.qRe[i], p.qIm[i] = re, im
		p.norm[i] = float32(float64(st.QAbsMean[i]) - math.Hypot(re, im))
	}
	return p, nil
}

// offsetMeans returns W_f = mean over δ ∈ {2^0..2^16} of e^{iω_f δ}.
func offsetMeans(omega []float64) (re, im []float64) {
	re, im = make([]float64, len(omega)), make([]float64, len(omega))
	for f, w := range omega {
		n := 0
		for d := 1; d <= triOffsetMax; d *= 2 {
			s, c := math.Sincos(w * float64(d))
			re[f] += c
			im[f] += s
			n++
		}
		re[f] /= float64(n)
		im[f] /= float64(n)
	}
	return re, im
}

// Name implements Policy.
func (p *TriAttention) Name() string { return "triattention" }

// Needs implements Policy: TriAttention reads only the cached keys.
func (p *TriAttention) Needs() Needs { return Needs{} }

// Scores implements Policy.
func (p *TriAttention) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	if sh := in.Seq.Shape(); sh.Heads != p.heads || sh.KVHeads != p.kvh || sh.HeadDim != p.hd || sh.Layers*p.heads*p.ropeDim/2 != len(p.qRe) {
		return fmt.Errorf("triattention: sequence shape %+v does not match the statistics", sh)
	}
	rot := p.roundRotation(in.Next)
	err := eachTable(in, func(l, g int) error {
		keys, _, err := readKeys(in.Seq.Table(l, g), p.hd, nil, nil)
		if err != nil {
			return err
		}
		p.tableScores(l, g, keys, rot, dst[l][g])
		return nil
	})
	if err != nil || p.mode == ModePerLayerPerHead {
		return err
	}
	for g := range p.kvh {
		if err := meanOverLayers(in.Seq, g, dst); err != nil {
			return fmt.Errorf("triattention: %w", err)
		}
	}
	return nil
}

// roundRotation returns e^{iω_f t}·W_f per band ([F] complex as re, im pairs).
func (p *TriAttention) roundRotation(t int32) []float64 {
	rot := make([]float64, 2*len(p.omega))
	for f, w := range p.omega {
		s, c := math.Sincos(w * float64(t))
		rot[2*f] = c*p.wRe[f] - s*p.wIm[f]
		rot[2*f+1] = c*p.wIm[f] + s*p.wRe[f]
	}
	return rot
}

// headVector builds w_t ([HeadDim]) and c ([F]) of query head h in layer l.
func (p *TriAttention) headVector(l, h int, rot []float64, w []float32) []float32 {
	F := p.ropeDim / 2
	o := (l*p.heads + h) * F
	clear(w)
	for f := range F {
		qr, qi := p.qRe[o+f], p.qIm[o+f]
		a, b := bandDims(p.rope, p.ropeDim, f)
		w[a] = float32(qr*rot[2*f] - qi*rot[2*f+1])
		w[b] = float32(qr*rot[2*f+1] + qi*rot[2*f])
	}
	return p.norm[o : o+F]
}

// tableScores writes into out ([n]) the z-scored scores of keys ([n][HeadDim])
// max-reduced over the query heads of kv-head g in layer l.
func (p *TriAttention) tableScores(l, g int, keys []float32, rot []float64, out []float32) {
	mag := p.magnitudes(keys)
	w, raw := make([]float32, p.hd), make([]float32, len(out))
	G := p.heads / p.kvh
	for i := range out {
		out[i] = float32(math.Inf(-1))
	}
	for h := g * G; h < (g+1)*G; h++ {
		p.headScores(l, h, keys, mag, rot, w, raw)
		zscore(raw)
		for j, z := range raw {
			out[j] = max(out[j], z)
		}
	}
}

// magnitudes returns |Kr_f| of every key and band ([n][F]).
func (p *TriAttention) magnitudes(keys []float32) []float32 {
	F, hd := p.ropeDim/2, p.hd
	n := len(keys) / hd
	mag := make([]float32, n*F)
	for j := range n {
		k := keys[j*hd : (j+1)*hd]
		for f := range F {
			a, b := bandDims(p.rope, p.ropeDim, f)
			mag[j*F+f] = float32(math.Sqrt(float64(k[a]*k[a] + k[b]*k[b])))
		}
	}
	return mag
}

// headScores writes into out ([n]) the raw (not normalized) scores of query
// head h of layer l for keys ([n][HeadDim]) with magnitudes mag ([n][F]), in
// the closed linear form; w is [HeadDim] scratch.
func (p *TriAttention) headScores(l, h int, keys, mag []float32, rot []float64, w, out []float32) {
	F, hd := p.ropeDim/2, p.hd
	c := p.headVector(l, h, rot, w)
	for j := range out {
		out[j] = dot32(w, keys[j*hd:(j+1)*hd]) + dot32(c, mag[j*F:(j+1)*F])
	}
}

// zscore normalizes x in place: (x − mean) / max(std, 1e-6), population std.
func zscore(x []float32) {
	if len(x) == 0 {
		return
	}
	var sum, sq float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := sum / float64(len(x))
	for _, v := range x {
		d := float64(v) - mean
		sq += d * d
	}
	inv := 1 / math.Max(math.Sqrt(sq/float64(len(x))), zClamp)
	for i, v := range x {
		x[i] = float32((float64(v) - mean) * inv)
	}
}

// meanOverLayers replaces the scores of kv-head g in every layer by their
// mean over layers, token by token (matched by position, so tables may hold
// their tokens in different slot orders but must hold the same tokens).
func meanOverLayers(seq *kvcache.Sequence, g int, dst Scores) error {
	L := len(dst)
	ref := seq.Table(0, g).Positions(nil)
	index := make(map[int32]int, len(ref))
	for i, p := range ref {
		index[p] = i
	}
	agg := make([]float64, len(ref))
	slots := make([][]int, L) // slots[l][i]: reference index of slot i of layer l
	var pos []int32
	for l := range L {
		pos = seq.Table(l, g).Positions(pos[:0])
		if len(pos) != len(ref) {
			return fmt.Errorf("per_head mode: kv head %d holds %d tokens in layer %d and %d in layer 0", g, len(pos), l, len(ref))
		}
		same := slices.Equal(pos, ref)
		slots[l] = make([]int, len(pos))
		for i, p := range pos {
			j, ok := i, same
			if !same {
				j, ok = index[p]
			}
			if !ok {
				return fmt.Errorf("per_head mode: kv head %d of layer %d holds position %d, layer 0 does not", g, l, p)
			}
			slots[l][i] = j
			agg[j] += float64(dst[l][g][i])
		}
	}
	for l := range L {
		for i, j := range slots[l] {
			dst[l][g][i] = float32(agg[j] / float64(L))
		}
	}
	return nil
}
