package tokenizer

// Pre-tokenizers of byte-level BPE vocabularies. llama.cpp splits text with a list
// of regexes applied in turn, each one splitting every piece the previous one made
// (matches and the gaps between them both become pieces, and no regex sees past
// the ends of its piece). For the regexes used here llama.cpp runs hand-written
// matchers instead of std::regex; these state machines follow the same rules, one
// piece per step, over codepoints decoded with llama.cpp's UTF-8 leniency.

// preStage splits the piece [lo, hi) of t, appending the end offset of every piece
// it makes (in order, the last one being hi).
type preStage func(t *cptText, lo, hi int, ends []int) []int

// cptText holds the codepoints of one text fragment and their classes.
type cptText struct {
	cpts []uint32
	cls  []uint8
}

// clsValid marks an in-range position: llama.cpp's flags are never zero inside a
// piece (unassigned codepoints are "undefined", not empty) and zero past its end.
const clsValid uint8 = 1 << 7

const outOfRange = 0xFFFFFFFF

func (t *cptText) reset(s string) {
	t.cpts = appendCpts(t.cpts[:0], s)
	t.cls = t.cls[:0]
	for _, c := range t.cpts {
		t.cls = append(t.cls, classOf(c)|clsValid)
	}
}

// at and class read position i of the piece that ends at hi.
func (t *cptText) at(i, hi int) uint32 {
	if i < hi {
		return t.cpts[i]
	}
	return outOfRange
}

func (t *cptText) class(i, hi int) uint8 {
	if i < hi {
		return t.cls[i]
	}
	return 0
}

// stepFunc returns the end of the piece that starts at pos (pos < hi).
type stepFunc func(t *cptText, pos, hi int) int

// stepper turns a one-piece matcher into a stage.
func stepper(step stepFunc) preStage {
	return func(t *cptText, lo, hi int, ends []int) []int {
		for pos := lo; pos < hi; {
			pos = step(t, pos, hi)
			ends = append(ends, pos)
		}
		return ends
	}
}

// contraction matches 's 't 'm 'd 're 've 'll at pos (lowered first when fold),
// returning the end or -1.
func contraction(t *cptText, pos, hi int, fold bool) int {
	if t.cpts[pos] != '\'' || pos+1 >= hi {
		return -1
	}
	low := func(c uint32) uint32 {
		if fold {
			return lowerASCII(c)
		}
		return c
	}
	switch low(t.cpts[pos+1]) {
	case 's', 't', 'm', 'd':
		return pos + 2
	}
	if pos+2 < hi {
		a, b := low(t.cpts[pos+1]), low(t.cpts[pos+2])
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return pos + 3
		}
	}
	return -1
}

// spanWhile advances p while the class at p has any bit of want.
func spanWhile(t *cptText, p, hi int, want uint8) int {
	for t.class(p, hi)&want != 0 {
		p++
	}
	return p
}

// otherRun advances p over codepoints that are neither \s, \p{L} nor \p{N}.
func otherRun(t *cptText, p, hi int) int {
	for {
		c := t.class(p, hi)
		if c == 0 || c&(clsSpace|clsLetter|clsNumber) != 0 {
			return p
		}
		p++
	}
}

// stepGPT2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func stepGPT2(t *cptText, pos, hi int) int {
	if end := contraction(t, pos, hi, false); end > 0 {
		return end
	}
	cpt := t.cpts[pos]
	p, c2 := pos, t.cls[pos]
	if cpt == ' ' {
		p, c2 = pos+1, t.class(pos+1, hi)
	}
	switch {
	case c2&clsLetter != 0:
		return spanWhile(t, p, hi, clsLetter)
	case c2&clsNumber != 0:
		return spanWhile(t, p, hi, clsNumber)
	case c2 != 0 && c2&clsSpace == 0:
		return otherRun(t, p, hi)
	}
	return whitespaceEnd(t, pos, hi, false)
}

// whitespaceEnd matches \s*[\r\n]+ (when newlines), then \s+(?!\S), then \s+, and
// finally a lone codepoint that nothing else matched.
func whitespaceEnd(t *cptText, pos, hi int, newlines bool) int {
	n, lastNL := 0, 0
	for t.class(pos+n, hi)&clsSpace != 0 {
		if c := t.cpts[pos+n]; c == '\r' || c == '\n' {
			lastNL = pos + n + 1
		}
		n++
	}
	switch {
	case newlines && lastNL > 0:
		return lastNL
	case n > 1 && pos+n < hi:
		return pos + n - 1
	case n > 0:
		return pos + n
	}
	return pos + 1
}

// stepLlama3 and stepQwen2 differ only in how many digits one piece takes:
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// (qwen2 has \p{N} where llama3 has \p{N}{1,3}).
func stepLlama3(t *cptText, pos, hi int) int { return stepLlamaLike(t, pos, hi, 3) }

func stepQwen2(t *cptText, pos, hi int) int { return stepLlamaLike(t, pos, hi, 1) }

func stepLlamaLike(t *cptText, pos, hi, maxDigits int) int {
	if end := contraction(t, pos, hi, true); end > 0 {
		return end
	}
	cpt, c := t.cpts[pos], t.cls[pos]
	if cpt != '\r' && cpt != '\n' && c&clsNumber == 0 {
		if c&clsLetter != 0 || t.class(pos+1, hi)&clsLetter != 0 {
			return spanWhile(t, pos+1, hi, clsLetter)
		}
	}
	if c&clsNumber != 0 {
		return spanWhile(t, pos, min(hi, pos+maxDigits), clsNumber)
	}
	p, c2 := pos, c
	if cpt == ' ' {
		p, c2 = pos+1, t.class(pos+1, hi)
	}
	if c2&(clsSpace|clsLetter|clsNumber) == 0 {
		p = otherRun(t, p, hi)
		for q := t.at(p, hi); q == '\r' || q == '\n'; q = t.at(p, hi) {
			p++
		}
		return p
	}
	return whitespaceEnd(t, pos, hi, true)
}
