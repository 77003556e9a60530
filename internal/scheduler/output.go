package scheduler

import (
	"strings"

	"github.com/kvpack/kvpack/internal/sample"
)

// stopText turns generated text pieces into released text, holding back any
// tail that could still grow into a stop string, so a stop spanning token
// boundaries is found and never emitted.
type stopText struct {
	stops []string
	buf   []byte // generated text not yet released
}

// newStopText drops empty stop strings (they would match everywhere).
func newStopText(stops []string) *stopText {
	var s []string
	for _, x := range stops {
		if x != "" {
			s = append(s, x)
		}
	}
	return &stopText{stops: s}
}

// push adds a piece of text. It returns the text now safe to release and
// whether a stop string matched; on a match the text before the stop is
// released and everything from the stop on is dropped.
func (t *stopText) push(piece string) (out string, stopped bool) {
	t.buf = append(t.buf, piece...)
	if cut := t.firstStop(); cut >= 0 {
		out = string(t.buf[:cut])
		t.buf = t.buf[:0]
		return out, true
	}
	keep := t.heldTail()
	out = string(t.buf[:len(t.buf)-keep])
	t.buf = append(t.buf[:0], t.buf[len(t.buf)-keep:]...)
	return out, false
}

// flush releases whatever is held back (the generation ended otherwise).
func (t *stopText) flush() string {
	out := string(t.buf)
	t.buf = t.buf[:0]
	return out
}

// firstStop is the byte offset in buf of the earliest stop match, or -1.
// Released text never holds the start of a match (heldTail keeps it), so
// searching buf alone finds every match.
func (t *stopText) firstStop() int {
	best := -1
	s := string(t.buf)
	for _, stop := range t.stops {
		if i := strings.Index(s, stop); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// heldTail is the length of the longest suffix of buf that is a proper
// prefix of some stop string.
func (t *stopText) heldTail() int {
	s := string(t.buf)
	keep := 0
	for _, stop := range t.stops {
		for n := min(len(stop)-1, len(s)); n > keep; n-- {
			if strings.HasSuffix(s, stop[:n]) {
				keep = n
				break
			}
		}
	}
	return keep
}

// maxTopLogprobs bounds TopLogprobs (OpenAI's limit for chat).
const maxTopLogprobs = 20

// logprobs fills the chosen token's log probability and the k best
// alternatives from raw logits; buf is scratch ([Vocab]).
func logprobs(logits []float32, id int32, k int, piece func(int32) []byte, buf []float32) (TokenLogprob, []float32) {
	buf = sample.LogSoftmax(logits, buf)
	tl := TokenLogprob{ID: id, Text: piece(id), Logprob: buf[id]}
	if k <= 0 {
		return tl, buf
	}
	k = min(k, maxTopLogprobs, len(buf))
	top := make([]int32, 0, k+1) // ids, best first; ties: lower id first
	for i, v := range buf {
		if len(top) == k && v <= buf[top[k-1]] {
			continue
		}
		j := len(top)
		for j > 0 && v > buf[top[j-1]] {
			j--
		}
		top = append(top, 0)
		copy(top[j+1:], top[j:])
		top[j] = int32(i)
		if len(top) > k {
			top = top[:k]
		}
	}
	for _, t := range top {
		tl.Top = append(tl.Top, TopLogprob{ID: t, Text: piece(t), Logprob: buf[t]})
	}
	return tl, buf
}
