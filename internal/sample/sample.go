// Package sample picks the next token from logits: greedy, or temperature with
// top-k, top-p and min-p truncation and a repetition penalty, reproducible from
// a seed. The order of the steps follows llama.cpp's default chain:
// penalties -> top-k -> top-p -> min-p -> temperature -> draw.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Params configures a Sampler. The zero value is greedy decoding.
type Params struct {
	Temperature   float32 // <= 0: greedy
	TopK          int     // <= 0: off
	TopP          float32 // >= 1 or <= 0: off
	MinP          float32 // <= 0: off
	RepeatPenalty float32 // <= 0 or 1: off
	RepeatLastN   int     // tokens of history the penalty looks at (default 64)
	Seed          uint64
}

// Validate reports parameters outside their domain.
func (p Params) Validate() error {
	switch {
	case math.IsNaN(float64(p.Temperature)) || p.Temperature < 0:
		return fmt.Errorf("temperature must be >= 0, got %v", p.Temperature)
	case p.TopK < 0:
		return fmt.Errorf("top_k must be >= 0, got %d", p.TopK)
	case math.IsNaN(float64(p.TopP)) || p.TopP < 0 || p.TopP > 1:
		return fmt.Errorf("top_p must be in [0, 1], got %v", p.TopP)
	case math.IsNaN(float64(p.MinP)) || p.MinP < 0 || p.MinP > 1:
		return fmt.Errorf("min_p must be in [0, 1], got %v", p.MinP)
	case math.IsNaN(float64(p.RepeatPenalty)) || p.RepeatPenalty < 0:
		return fmt.Errorf("repeat_penalty must be >= 0, got %v", p.RepeatPenalty)
	}
	return nil
}

// Sampler draws tokens. It keeps its own random stream, so two samplers with the
// same seed and inputs draw the same tokens.
type Sampler struct {
	p    Params
	rng  *rand.Rand
	cand []candidate
}

type candidate struct {
	id    int32
	logit float32
	prob  float32
}

// New makes a sampler.
func New(p Params) *Sampler {
	if p.RepeatLastN == 0 {
		p.RepeatLastN = 64
	}
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, 0x6b767061636b))}
}

// Greedy returns the index of the largest logit (the lowest id on ties).
func Greedy(logits []float32) int32 {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// Sample picks the next token from logits ([Vocab]); history holds the tokens so
// far (prompt and generated) for the repetition penalty. logits is not modified.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	p := s.p
	penalize := p.RepeatPenalty > 0 && p.RepeatPenalty != 1
	if p.Temperature <= 0 && !penalize {
		return Greedy(logits)
	}
	s.cand = s.cand[:0]
	for i, v := range logits {
		s.cand = append(s.cand, candidate{id: int32(i), logit: v})
	}
	if penalize {
		s.penalize(history)
	}
	if p.Temperature <= 0 {
		best := 0
		for i, c := range s.cand {
			if c.logit > s.cand[best].logit {
				best = i
			}
		}
		return s.cand[best].id
	}
	sort.SliceStable(s.cand, func(i, j int) bool { return s.cand[i].logit > s.cand[j].logit })
	if p.TopK > 0 && p.TopK < len(s.cand) {
		s.cand = s.cand[:p.TopK]
	}
	s.softmax(1)
	s.topP()
	s.minP()
	s.softmax(p.Temperature)
	return s.draw()
}

// penalize applies llama.cpp's repetition penalty once per distinct recent token:
// positive logits are divided by the penalty, negative ones multiplied.
func (s *Sampler) penalize(history []int32) {
	if n := s.p.RepeatLastN; n > 0 && len(history) > n {
		history = history[len(history)-n:]
	}
	seen := make(map[int32]bool, len(history))
	for _, id := range history {
		if seen[id] || id < 0 || int(id) >= len(s.cand) {
			continue
		}
		seen[id] = true
		if l := s.cand[id].logit; l > 0 {
			s.cand[id].logit = l / s.p.RepeatPenalty
		} else {
			s.cand[id].logit = l * s.p.RepeatPenalty
		}
	}
}

// softmax sets prob from logit/temp over the (sorted) candidates.
func (s *Sampler) softmax(temp float32) {
	maxL := s.cand[0].logit
	var sum float64
	for i := range s.cand {
		e := math.Exp(float64((s.cand[i].logit - maxL) / temp))
		s.cand[i].prob = float32(e)
		sum += e
	}
	for i := range s.cand {
		s.cand[i].prob = float32(float64(s.cand[i].prob) / sum)
	}
}

// topP keeps the smallest prefix whose probability mass reaches TopP.
func (s *Sampler) topP() {
	if s.p.TopP <= 0 || s.p.TopP >= 1 {
		return
	}
	var cum float32
	for i, c := range s.cand {
		cum += c.prob
		if cum >= s.p.TopP {
			s.cand = s.cand[:i+1]
			return
		}
	}
}

// minP drops candidates whose probability is below MinP times the best one's.
func (s *Sampler) minP() {
	if s.p.MinP <= 0 {
		return
	}
	limit := s.cand[0].prob * s.p.MinP
	n := 1
	for n < len(s.cand) && s.cand[n].prob >= limit {
		n++
	}
	s.cand = s.cand[:n]
}

func (s *Sampler) draw() int32 {
	u := float32(s.rng.Float64())
	var cum float32
	for _, c := range s.cand {
		cum += c.prob
		if u < cum {
			return c.id
		}
	}
	return s.cand[len(s.cand)-1].id
}

// LogSoftmax returns log probabilities of logits (temperature 1).
func LogSoftmax(logits []float32, dst []float32) []float32 {
	if cap(dst) < len(logits) {
		dst = make([]float32, len(logits))
	}
	dst = dst[:len(logits)]
	maxL := logits[Greedy(logits)]
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v - maxL))
	}
	lse := float32(math.Log(sum)) + maxL
	for i, v := range logits {
		dst[i] = v - lse
	}
	return dst
}
