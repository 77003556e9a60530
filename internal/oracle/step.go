package oracle

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// TokenProb is one token's next-token probability.
type TokenProb struct {
	ID   int32
	Prob float32
}

// Step is the next-token distribution one greedy token was picked from: Top holds
// the K best (prob desc, ties by id asc) when K > 0; Probs the whole vocab indexed by
// token id when K == 0. Probabilities are llama.cpp's float32 softmax of the raw
// logits (temperature 1, no truncation); log(p) recovers the logits up to a
// per-step constant.
type Step struct {
	Top   []TokenProb
	Probs []float32
}

// UnmarshalJSON reads [id, prob].
func (tp *TokenProb) UnmarshalJSON(b []byte) error {
	var pair [2]float64
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("oracle: token prob %s: %w", b, err)
	}
	tp.ID, tp.Prob = int32(pair[0]), float32(pair[1])
	return nil
}

// UnmarshalJSON reads {"top": [[id, prob], ...]} or {"probs": base64 float32 LE}.
func (s *Step) UnmarshalJSON(b []byte) error {
	var w struct {
		Top   []TokenProb `json:"top"`
		Probs string      `json:"probs"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("oracle: step: %w", err)
	}
	s.Top = w.Top
	s.Probs = nil
	if w.Probs == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(w.Probs)
	if err != nil {
		return fmt.Errorf("oracle: step probs: %w", err)
	}
	if len(raw)%4 != 0 {
		return fmt.Errorf("oracle: step probs: %d bytes is not a float32 array", len(raw))
	}
	s.Probs = make([]float32, len(raw)/4)
	for i := range s.Probs {
		s.Probs[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return nil
}
