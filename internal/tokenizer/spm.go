package tokenizer

// SentencePiece-style tokenization as llama.cpp does it (llm_tokenizer_spm): start
// from single characters and keep merging the adjacent pair whose concatenation is
// the highest-scoring token, the leftmost pair winning ties; what never formed a
// token falls back to byte tokens.

// spmPair is a candidate merge; it pops highest score first, then leftmost.
type spmPair struct {
	score       float32
	left, right int32
	size        int32
}

type spmState struct {
	syms  []bpeSym
	queue spmQueue
}

func (t *Tokenizer) spmAddPair(s *spmState, text string, left, right int32) {
	if left < 0 || right < 0 {
		return
	}
	l, r := s.syms[left], s.syms[right]
	id, ok := t.tokID[text[l.start:r.start+r.n]]
	if !ok {
		return
	}
	s.queue.push(spmPair{score: t.scores[id], left: left, right: right, size: l.n + r.n})
}

// encodeSPM tokenizes one escaped fragment (spaces already turned into U+2581).
func (t *Tokenizer) encodeSPM(s *spmState, text string, out []int32) []int32 {
	s.syms = s.syms[:0]
	for i := 0; i < len(text); {
		n := min(seqLen(text[i]), len(text)-i)
		k := int32(len(s.syms))
		s.syms = append(s.syms, bpeSym{start: int32(i), n: int32(n), prev: k - 1, next: k + 1})
		i += n
	}
	if len(s.syms) == 0 {
		return out
	}
	s.syms[len(s.syms)-1].next = -1
	s.queue = s.queue[:0]
	for i := 1; i < len(s.syms); i++ {
		t.spmAddPair(s, text, int32(i-1), int32(i))
	}
	for len(s.queue) > 0 {
		p := s.queue.pop()
		l, r := &s.syms[p.left], &s.syms[p.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != p.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = p.left
		}
		t.spmAddPair(s, text, l.prev, p.left)
		t.spmAddPair(s, text, p.left, l.next)
	}
	for i := int32(0); i >= 0; i = s.syms[i].next {
		sym := s.syms[i]
		out = t.appendPiece(text[sym.start:sym.start+sym.n], out)
	}
	return out
}

// appendPiece emits the token spelled piece, else its bytes as byte tokens.
// llama.cpp aborts when a byte has no token; kvpack emits UNK (or nothing).
func (t *Tokenizer) appendPiece(piece string, out []int32) []int32 {
	if id, ok := t.tokID[piece]; ok {
		return append(out, id)
	}
	for i := 0; i < len(piece); i++ {
		switch id := t.byteTok[piece[i]]; {
		case id >= 0:
			out = append(out, id)
		case t.unk >= 0:
			out = append(out, t.unk)
		}
	}
	return out
}
