package compress

import (
	"math"
	"sort"

	"github.com/kvpack/kvpack/internal/model"
)

// Slow, direct reference implementations written from the formulas (dense
// float64 attention, explicit offset sums), independent of the package code.

// refPair is the dimension pair of band f.
func refPair(mc *model.Config, f int) (int, int) {
	if mc.Rope == model.RopeNeoX {
		return f, f + mc.RopeDim/2
	}
	return 2 * f, 2*f + 1
}

func refOmega(mc *model.Config, f int) float64 {
	w := math.Pow(float64(mc.RopeTheta), -2*float64(f)/float64(mc.RopeDim))
	if mc.RopeFreqs != nil {
		w /= float64(mc.RopeFreqs[f])
	}
	return w
}

// refRotate applies RoPE at position p (angle sign s: +1 rotates, -1 un-rotates) in float64.
func refRotate(mc *model.Config, v []float64, p int32, s float64) []float64 {
	out := append([]float64(nil), v...)
	for f := range mc.RopeDim / 2 {
		a, b := refPair(mc, f)
		sn, cs := math.Sincos(s * refOmega(mc, f) * float64(p))
		out[a] = v[a]*cs - v[b]*sn
		out[b] = v[a]*sn + v[b]*cs
	}
	return out
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// refQuery is one post-RoPE query of one head group: rows [G][hd].
type refQuery struct {
	pos   int32
	heads [][]float64
}

// refQueries rotates every recorded query of a layer, for kv-head g.
func refQueries(tr *trace, l, g int) []refQuery {
	mc := tr.mc
	hd, qd, G := mc.HeadDim, mc.Heads*mc.HeadDim, mc.GroupSize()
	var out []refQuery
	for _, st := range tr.steps[l] {
		for i, p := range st.pos {
			rq := refQuery{pos: p}
			for h := g * G; h < (g+1)*G; h++ {
				rq.heads = append(rq.heads, refRotate(mc, f64(st.q[i*qd+h*hd:i*qd+(h+1)*hd]), p, 1))
			}
			out = append(out, rq)
		}
	}
	return out
}

// refSoftmax returns the probabilities of one query head over keys visible at qpos.
func refSoftmax(q []float64, keys [][]float64, pos []int32, qpos int32, scale float64) []float64 {
	p := make([]float64, len(keys))
	m := math.Inf(-1)
	for j, k := range keys {
		if pos[j] <= qpos {
			p[j] = dot64(q, k) * scale
			m = math.Max(m, p[j])
		}
	}
	var sum float64
	for j := range keys {
		if pos[j] <= qpos {
			p[j] = math.Exp(p[j] - m)
			sum += p[j]
		} else {
			p[j] = 0
		}
	}
	for j := range p {
		p[j] /= sum
	}
	return p
}

// refH2O is the attention mass each key received from every query of every head of the group.
func refH2O(qs []refQuery, keys [][]float64, pos []int32, scale float64) []float64 {
	mass := make([]float64, len(keys))
	for _, q := range qs {
		for _, h := range q.heads {
			for j, p := range refSoftmax(h, keys, pos, q.pos, scale) {
				mass[j] += p
			}
		}
	}
	return mass
}

// refTOVA is the last query's attention averaged over the group's heads.
func refTOVA(qs []refQuery, keys [][]float64, pos []int32, scale float64) []float64 {
	last := qs[len(qs)-1]
	out := make([]float64, len(keys))
	for _, h := range last.heads {
		for j, p := range refSoftmax(h, keys, pos, last.pos, scale) {
			out[j] += p / float64(len(last.heads))
		}
	}
	return out
}

// refSnap is SnapKV: logits max over the group, softmax, mean over the last w queries, max-pool 7.
func refSnap(qs []refQuery, w int, keys [][]float64, pos []int32, scale float64) []float64 {
	qs = qs[len(qs)-min(w, len(qs)):]
	att := make([]float64, len(keys))
	for _, q := range qs {
		logit := make([]float64, len(keys))
		for j, k := range keys {
			logit[j] = math.Inf(-1)
			if pos[j] <= q.pos {
				for _, h := range q.heads {
					logit[j] = math.Max(logit[j], dot64(h, k)*scale)
				}
			}
		}
		m := math.Inf(-1)
		for _, x := range logit {
			m = math.Max(m, x)
		}
		var sum float64
		for j := range logit {
			logit[j] = math.Exp(logit[j] - m)
			sum += logit[j]
		}
		for j := range logit {
			att[j] += logit[j] / sum / float64(len(qs))
		}
	}
	byPos := sortedByPos(pos)
	out := make([]float64, len(keys))
	for i, s := range byPos {
		out[s] = math.Inf(-1)
		for j := i - 3; j <= i+3; j++ {
			if j >= 0 && j < len(byPos) {
				out[s] = math.Max(out[s], att[byPos[j]])
			}
		}
	}
	return out
}

func sortedByPos(pos []int32) []int {
	idx := make([]int, len(pos))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pos[idx[a]] < pos[idx[b]] })
	return idx
}

// refRKV is 0.1·SnapKV − 0.9·softmax(mean over rows of the masked cosine similarity).
func refRKV(qs []refQuery, w int, keys [][]float64, pos []int32, scale float64) []float64 {
	snap := refSnap(qs, w, keys, pos, scale)
	byPos := sortedByPos(pos)
	n := len(keys)
	sim := make([][]float64, n) // in position order
	for i := range n {
		sim[i] = make([]float64, n)
		for j := range n {
			if i != j {
				a, b := keys[byPos[i]], keys[byPos[j]]
				sim[i][j] = dot64(a, b) / ((math.Sqrt(dot64(a, a)) + 1e-8) * (math.Sqrt(dot64(b, b)) + 1e-8))
			}
		}
		last := -1
		for j := range n {
			if sim[i][j] > 0.5 {
				last = j
			}
		}
		if last >= 0 {
			sim[i][last] = 0
		}
	}
	red := make([]float64, n)
	var sum float64
	for j := range n {
		for i := range n {
			red[j] += sim[i][j] / float64(n)
		}
	}
	for j := range n {
		red[j] = math.Exp(red[j])
		sum += red[j]
	}
	out := make([]float64, n)
	for i, s := range byPos {
		out[s] = 0.1*snap[s] - 0.9*red[i]/sum
	}
	return out
}

// refTriRaw is TriAttention's score of a post-RoPE key at position p, round
// position t, for one query head: un-rotate, explicit sum over 17 offsets (§1.3).
func refTriRaw(mc *model.Config, st *Stats, l, h int, kr []float64, p, t int32) float64 {
	k := refRotate(mc, kr, p, -1)
	re, im, abs := st.Head(l, h)
	var score float64
	n := 0
	for d := 1; d <= 65536; d *= 2 {
		n++
		for f := range mc.RopeDim / 2 {
			a, b := refPair(mc, f)
			q := complex(float64(re[f]), float64(im[f]))
			kf := complex(k[a], k[b])
			prod := q * complex(real(kf), -imag(kf))
			amp := cmplxAbs(q) * cmplxAbs(kf)
			phi := math.Atan2(imag(prod), real(prod))
			score += amp*math.Cos(refOmega(mc, f)*float64(t-p+int32(d))+phi) + (float64(abs[f])-cmplxAbs(q))*cmplxAbs(kf)
		}
	}
	return score / float64(n)
}

func cmplxAbs(c complex128) float64 { return math.Hypot(real(c), imag(c)) }

// refZ z-scores x with the population std clamped at 1e-6.
func refZ(x []float64) []float64 {
	var mean, v float64
	for _, a := range x {
		mean += a / float64(len(x))
	}
	for _, a := range x {
		v += (a - mean) * (a - mean) / float64(len(x))
	}
	out := make([]float64, len(x))
	for i, a := range x {
		out[i] = (a - mean) / math.Max(math.Sqrt(v), 1e-6)
	}
	return out
}

// refTriTable is the z-scored, group-max score of table (l, g) (keys at positions pos).
func refTriTable(mc *model.Config, st *Stats, l, g int, keys [][]float64, pos []int32, t int32) []float64 {
	G := mc.GroupSize()
	out := make([]float64, len(keys))
	for i := range out {
		out[i] = math.Inf(-1)
	}
	for h := g * G; h < (g+1)*G; h++ {
		raw := make([]float64, len(keys))
		for j, k := range keys {
			raw[j] = refTriRaw(mc, st, l, h, k, pos[j], t)
		}
		for j, z := range refZ(raw) {
			out[j] = math.Max(out[j], z)
		}
	}
	return out
}

// refKeep is the keep-set (positions) of one table under the budget rule of Config.
func refKeep(pos []int32, score []float64, budget, sinks, window, promptLen int) map[int32]bool {
	keep := map[int32]bool{}
	if len(pos) <= budget {
		for _, p := range pos {
			keep[p] = true
		}
		return keep
	}
	byPos := sortedByPos(pos)
	for i, s := range byPos {
		if i < sinks || i >= len(pos)-window {
			keep[pos[s]] = true
		}
	}
	prompt := 0
	for _, p := range pos {
		if int(p) < promptLen && !keep[p] {
			prompt++
		}
	}
	if promptLen > 0 && len(keep)+prompt <= budget {
		for _, p := range pos {
			if int(p) < promptLen {
				keep[p] = true
			}
		}
	}
	var rest []int
	for s, p := range pos {
		if !keep[p] {
			rest = append(rest, s)
		}
	}
	sort.SliceStable(rest, func(a, b int) bool {
		sa, sb := score[rest[a]], score[rest[b]]
		if sa != sb {
			return sa > sb
		}
		return pos[rest[a]] > pos[rest[b]]
	})
	for _, s := range rest[:budget-len(keep)] {
		keep[pos[s]] = true
	}
	return keep
}
