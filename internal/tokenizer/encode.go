package tokenizer

import (
	"strings"
)

// scratch is the reusable working memory of one Encode call.
type scratch struct {
	frags    []fragment
	tmpFrags []fragment
	ct       cptText
	ends     []int
	tmpEnds  []int
	word     []byte
	enc      []byte
	bpe      bpeState
	spm      spmState
	words    wordCache
}

// wordCache remembers the ids of byte-level words already merged (words repeat a
// lot in text). It lives in a pooled scratch, so it needs no locking.
type wordCache struct {
	idx   map[string]uint64 // word -> offset<<32 | length in arena
	arena []int32
}

const (
	wordCacheMax     = 1 << 15 // entries before the cache starts over
	wordCacheMaxWord = 64      // longer words are not cached
)

func (c *wordCache) get(word []byte) ([]int32, bool) {
	v, ok := c.idx[string(word)]
	if !ok {
		return nil, false
	}
	return c.arena[v>>32 : v>>32+v&0xffffffff], true
}

func (c *wordCache) put(word []byte, ids []int32) {
	if len(word) > wordCacheMaxWord {
		return
	}
	if c.idx == nil || len(c.idx) >= wordCacheMax {
		c.idx, c.arena = make(map[string]uint64, 1024), c.arena[:0]
	}
	c.idx[string(word)] = uint64(len(c.arena))<<32 | uint64(len(ids))
	c.arena = append(c.arena, ids...)
}

// Encode turns text into token ids the way llama_tokenize does. With addSpecial,
// BOS and EOS are added as the vocabulary asks (AddBOS, AddEOS). With
// parseSpecial, the texts of control tokens (e.g. "<|im_start|>") in text map to
// their ids; user-defined tokens are always matched, as in llama.cpp. Any byte
// string is accepted: invalid UTF-8 is tokenized as llama.cpp does (byte-level
// BPE sees U+FFFD, SentencePiece falls back to byte tokens).
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	sc, _ := t.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer t.scratch.Put(sc)
	out := make([]int32, 0, len(text)/4+4)
	if addSpecial && t.set.addBOS {
		out = append(out, t.bos)
	}
	sc.frags = t.partition(sc, text, parseSpecial)
	prevSpecial := true // SentencePiece: a fragment after a special token gets the space prefix
	for _, f := range sc.frags {
		if f.tok >= 0 {
			out = append(out, f.tok)
			prevSpecial = true
			continue
		}
		if frag := text[f.start:f.end]; t.set.spm {
			out = t.encodeSPMText(sc, frag, prevSpecial, out)
		} else {
			out = t.encodeBPEText(sc, frag, out)
		}
		prevSpecial = false
	}
	if addSpecial && t.set.addEOS {
		out = append(out, t.eos)
	}
	return out
}

// encodeBPEText pre-tokenizes a byte-level fragment and merges each word.
func (t *Tokenizer) encodeBPEText(sc *scratch, frag string, out []int32) []int32 {
	sc.ct.reset(frag)
	sc.ends, sc.tmpEnds = splitWords(&sc.ct, t.stages, sc.ends, sc.tmpEnds)
	lo := 0
	for _, hi := range sc.ends {
		sc.word = sc.word[:0]
		for _, c := range sc.ct.cpts[lo:hi] {
			sc.word = appendUTF8(sc.word, c)
		}
		out = t.encodeWord(sc, sc.word, out)
		lo = hi
	}
	return out
}

// encodeWord merges one byte-level word. A final symbol that is not a token (only
// in malformed vocabularies) becomes the one-byte tokens of its encoded text.
func (t *Tokenizer) encodeWord(sc *scratch, word []byte, out []int32) []int32 {
	if ids, ok := sc.words.get(word); ok {
		return append(out, ids...)
	}
	start := len(out)
	out = t.mergeWord(sc, word, out)
	sc.words.put(word, out[start:])
	return out
}

func (t *Tokenizer) mergeWord(sc *scratch, word []byte, out []int32) []int32 {
	if t.set.pre.ignoreMerges {
		sc.enc = appendByteEncoded(sc.enc[:0], word)
		if id, ok := t.tokID[string(sc.enc)]; ok {
			return append(out, id)
		}
	}
	st := &sc.bpe
	st.initByteSyms(t.bpe, word)
	st.merge(t.bpe)
	for i := int32(0); i >= 0 && int(i) < len(st.syms); i = st.syms[i].next {
		s := st.syms[i]
		if s.id >= 0 && s.id < t.bpe.n {
			out = append(out, s.id)
			continue
		}
		sc.enc = appendByteEncoded(sc.enc[:0], word[s.start:s.start+s.n])
		for _, c := range sc.enc {
			if id, ok := t.tokID[string([]byte{c})]; ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// encodeSPMText adds the space prefix, escapes spaces and tokenizes a fragment.
func (t *Tokenizer) encodeSPMText(sc *scratch, frag string, prevSpecial bool, out []int32) []int32 {
	var b strings.Builder
	b.Grow(len(frag) + 8)
	if t.set.addSpacePrefix && prevSpecial {
		b.WriteString("▁")
	}
	for i := 0; i < len(frag); i++ {
		if frag[i] == ' ' {
			b.WriteString("▁")
		} else {
			b.WriteByte(frag[i])
		}
	}
	if t.set.hfMerges {
		return t.encodeHFMerges(sc, b.String(), out)
	}
	return t.encodeSPM(&sc.spm, b.String(), out)
}

// encodeHFMerges tokenizes escaped text with ranked merges and Hugging Face's
// byte fallback: a character that is no token becomes its <0xXX> tokens when all
// exist, else UNK, consecutive UNKs fused into one.
func (t *Tokenizer) encodeHFMerges(sc *scratch, text string, out []int32) []int32 {
	st := &sc.bpe
	st.initSyms(text, func(s string) int32 {
		if id, ok := t.bpe.lookup(t, s); ok {
			return id
		}
		return -1
	})
	st.merge(t.bpe)
	lastUnk := false
	for i := int32(0); i >= 0 && int(i) < len(st.syms); i = st.syms[i].next {
		s := st.syms[i]
		if s.id >= 0 && s.id < t.bpe.n {
			out, lastUnk = append(out, s.id), false
			continue
		}
		if bytes, ok := t.hfByteFallback(text[s.start : s.start+s.n]); ok {
			out, lastUnk = append(out, bytes...), false
			continue
		}
		if !lastUnk && t.unk >= 0 {
			out = append(out, t.unk)
		}
		lastUnk = true
	}
	return out
}

func (t *Tokenizer) hfByteFallback(s string) ([]int32, bool) {
	const hex = "0123456789ABCDEF"
	ids := make([]int32, 0, len(s))
	for i := 0; i < len(s); i++ {
		id, ok := t.tokID[string([]byte{'<', '0', 'x', hex[s[i]>>4], hex[s[i]&15], '>'})]
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}
