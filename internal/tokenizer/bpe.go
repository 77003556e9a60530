package tokenizer

import (
	"fmt"
	"strings"
)

// bpeModel holds ranked merges over symbol ids. A symbol id is the token id of a
// vocabulary text, or an id >= len(vocab) for a merge part that is no token (such
// vocabularies are malformed, but llama.cpp merges text pairs, so they still work).
type bpeModel struct {
	n       int32             // vocabulary size
	extraID map[string]int32  // non-token merge texts
	merges  map[uint64]merged // (left id, right id) -> rank and result id
	byteSym [256]int32        // byte-level: symbol id of each byte's character (-1: none)
}

type merged struct{ rank, result int32 }

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newBPEModel parses "left right" merges; the first occurrence of a pair keeps
// its rank (llama.cpp splits at the first space after the first byte).
func newBPEModel(t *Tokenizer, merges []string, byteLevel bool) (*bpeModel, error) {
	m := &bpeModel{n: int32(len(t.tokens)), extraID: map[string]int32{}, merges: make(map[uint64]merged, len(merges))}
	intern := func(s string) int32 {
		if id, ok := m.lookup(t, s); ok {
			return id
		}
		id := m.n + int32(len(m.extraID))
		m.extraID[s] = id
		return id
	}
	for i, w := range merges {
		sp := -1
		if len(w) > 1 {
			sp = strings.IndexByte(w[1:], ' ')
		}
		if sp < 0 {
			continue // llama.cpp registers ("", ""), which never matches
		}
		left, right := w[:sp+1], w[sp+2:]
		if left == "" || right == "" {
			return nil, fmt.Errorf("%w: merge %d %q has an empty side", ErrConfig, i, w)
		}
		key := pairKey(intern(left), intern(right))
		if _, dup := m.merges[key]; !dup {
			m.merges[key] = merged{rank: int32(i), result: intern(left + right)}
		}
	}
	for b := range 256 {
		m.byteSym[b] = -1
		if byteLevel {
			if id, ok := m.lookup(t, byteToUTF8[b]); ok {
				m.byteSym[b] = id
			}
		}
	}
	return m, nil
}

func (m *bpeModel) lookup(t *Tokenizer, s string) (int32, bool) {
	if id, ok := t.tokID[s]; ok {
		return id, true
	}
	id, ok := m.extraID[s]
	return id, ok
}

// bpeSym is one symbol of a word: bytes [start, start+n) of the word's text.
type bpeSym struct {
	id         int32 // symbol id, -1 when the text is unknown
	start, n   int32
	prev, next int32
}

// bpePair is a candidate merge; it pops lowest rank first, then leftmost.
type bpePair struct {
	rank, left, right, idL, idR, result int32
}

// bpeState is the scratch space of one encoding.
type bpeState struct {
	syms  []bpeSym
	queue bpeQueue
}

func (s *bpeState) addPair(m *bpeModel, left, right int32) {
	if left < 0 || right < 0 {
		return
	}
	a, b := s.syms[left].id, s.syms[right].id
	if a < 0 || b < 0 {
		return
	}
	if mg, ok := m.merges[pairKey(a, b)]; ok {
		s.queue.push(bpePair{rank: mg.rank, left: left, right: right, idL: a, idR: b, result: mg.result})
	}
}

// merge applies merges to s.syms until none is left (llm_tokenizer_bpe_session).
// A queued pair is stale once either symbol changed: a symbol only changes by
// absorbing its right neighbour, which changes its id or empties the neighbour.
func (s *bpeState) merge(m *bpeModel) {
	s.queue = s.queue[:0]
	for i := 1; i < len(s.syms); i++ {
		s.addPair(m, int32(i-1), int32(i))
	}
	for len(s.queue) > 0 {
		p := s.queue.pop()
		l, r := &s.syms[p.left], &s.syms[p.right]
		if l.n == 0 || r.n == 0 || l.id != p.idL || r.id != p.idR {
			continue
		}
		l.n += r.n
		l.id = p.result
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = p.left
		}
		s.addPair(m, l.prev, p.left)
		s.addPair(m, p.left, l.next)
	}
}

// initSyms makes one symbol per character of text, llama.cpp style: the length
// comes from the lead byte alone, clipped at the end.
func (s *bpeState) initSyms(text string, id func(string) int32) {
	s.syms = s.syms[:0]
	for i := 0; i < len(text); {
		n := min(seqLen(text[i]), len(text)-i)
		k := int32(len(s.syms))
		s.syms = append(s.syms, bpeSym{id: id(text[i : i+n]), start: int32(i), n: int32(n), prev: k - 1, next: k + 1})
		i += n
	}
	if k := len(s.syms); k > 0 {
		s.syms[k-1].next = -1
	}
}

// initByteSyms makes one symbol per byte of a byte-level word (each byte is one
// character of the encoded word).
func (s *bpeState) initByteSyms(m *bpeModel, word []byte) {
	s.syms = s.syms[:0]
	for i, b := range word {
		k := int32(i)
		s.syms = append(s.syms, bpeSym{id: m.byteSym[b], start: k, n: 1, prev: k - 1, next: k + 1})
	}
	if k := len(s.syms); k > 0 {
		s.syms[k-1].next = -1
	}
}
