package eval

import "math"

// LogSoftmax writes log softmax(logits) into dst (len(logits)) and returns it.
func LogSoftmax(dst []float64, logits []float32) []float64 {
	dst = dst[:0]
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(sum)
	for _, v := range logits {
		dst = append(dst, float64(v)-lse)
	}
	return dst
}

// KL is KL(p || q) in nats for log-probabilities lp, lq of the same length.
func KL(lp, lq []float64) float64 {
	var kl float64
	for i, a := range lp {
		if p := math.Exp(a); p > 0 {
			kl += p * (a - lq[i])
		}
	}
	return math.Max(kl, 0)
}

// Argmax is the index of the largest value (the first one on ties).
func Argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// Agg accumulates per-step comparisons of one compressed sequence with the
// full-cache reference.
type Agg struct {
	Steps  int
	KLSum  float64 // sum of KL(full || compressed)
	Agree  int     // steps whose top-1 token equals the reference's
	NLL    float64 // sum of -log p_compressed(true next token)
	RefNLL float64 // sum of -log p_full(true next token)
	KLMax  float64
}

// Add records one step: reference and compressed log-probabilities, their
// top-1 tokens and the true next token.
func (a *Agg) Add(ref, cmp []float64, refTop, cmpTop, target int32) {
	kl := KL(ref, cmp)
	a.Steps++
	a.KLSum += kl
	a.KLMax = math.Max(a.KLMax, kl)
	if refTop == cmpTop {
		a.Agree++
	}
	a.NLL -= cmp[target]
	a.RefNLL -= ref[target]
}

// MeanKL is the mean KL(full || compressed) per step.
func (a *Agg) MeanKL() float64 { return a.KLSum / math.Max(float64(a.Steps), 1) }

// Top1 is the fraction of steps whose argmax matches the reference's.
func (a *Agg) Top1() float64 { return float64(a.Agree) / math.Max(float64(a.Steps), 1) }

// PPL is the perplexity of the compressed sequence on the true tokens.
func (a *Agg) PPL() float64 { return math.Exp(a.NLL / math.Max(float64(a.Steps), 1)) }

// RefPPL is the full cache's perplexity on the same tokens.
func (a *Agg) RefPPL() float64 { return math.Exp(a.RefNLL / math.Max(float64(a.Steps), 1)) }

// PPLRatio is PPL / RefPPL = exp(mean NLL difference).
func (a *Agg) PPLRatio() float64 {
	return math.Exp((a.NLL - a.RefNLL) / math.Max(float64(a.Steps), 1))
}
