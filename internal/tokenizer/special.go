package tokenizer

import (
	"slices"
	"strings"
)

// fragment is a span of the input text (tok < 0) or one special token.
type fragment struct {
	start, end int
	tok        int32
}

// specialIndex finds which special tokens occur in a text without scanning the
// text once per token: tokens are grouped by their first two bytes (one byte for
// one-byte tokens), and every text position is checked against its group.
type specialIndex struct {
	first    [256]bool        // some special token starts with this byte
	byPrefix map[uint16][]int // first two bytes -> positions in Tokenizer.special
	byByte   [256][]int       // one-byte tokens
}

func newSpecialIndex(t *Tokenizer) specialIndex {
	x := specialIndex{byPrefix: map[uint16][]int{}}
	for pos, id := range t.special {
		s := t.tokens[id]
		x.first[s[0]] = true
		if len(s) == 1 {
			x.byByte[s[0]] = append(x.byByte[s[0]], pos)
			continue
		}
		k := uint16(s[0])<<8 | uint16(s[1])
		x.byPrefix[k] = append(x.byPrefix[k], pos)
	}
	return x
}

// present returns, in Tokenizer.special order, the special tokens found in text.
func (t *Tokenizer) presentSpecial(text string, parseSpecial bool) []int32 {
	var seen map[int]bool
	mark := func(pos int) {
		id := t.special[pos]
		if !parseSpecial && t.attrs[id]&(attrControl|attrUnknown) != 0 {
			return // only user-defined tokens are matched without parseSpecial
		}
		if seen == nil {
			seen = map[int]bool{}
		}
		seen[pos] = true
	}
	x := &t.specIndex
	for i := 0; i < len(text); i++ {
		if !x.first[text[i]] {
			continue
		}
		for _, pos := range x.byByte[text[i]] {
			mark(pos)
		}
		if i+1 < len(text) {
			for _, pos := range x.byPrefix[uint16(text[i])<<8|uint16(text[i+1])] {
				if !seen[pos] && strings.HasPrefix(text[i:], t.tokens[t.special[pos]]) {
					mark(pos)
				}
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	order := make([]int, 0, len(seen))
	for pos := range seen {
		order = append(order, pos)
	}
	slices.Sort(order)
	ids := make([]int32, len(order))
	for i, pos := range order {
		ids[i] = t.special[pos]
	}
	return ids
}

// partition splits text into fragments as tokenizer_st_partition does: for each
// special token, longest first, every text fragment is cut at the token's
// leftmost occurrences.
func (t *Tokenizer) partition(sc *scratch, text string, parseSpecial bool) []fragment {
	frags := sc.frags[:0]
	if text == "" {
		return frags
	}
	frags = append(frags, fragment{start: 0, end: len(text), tok: -1})
	for _, id := range t.presentSpecial(text, parseSpecial) {
		tok := t.tokens[id]
		next := sc.tmpFrags[:0]
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			next = splitFragment(next, text, f, tok, id)
		}
		frags, sc.tmpFrags = next, frags
	}
	return frags
}

// splitFragment cuts the text fragment f at every leftmost occurrence of tok.
func splitFragment(dst []fragment, text string, f fragment, tok string, id int32) []fragment {
	pos := f.start
	for pos < f.end {
		k := strings.Index(text[pos:f.end], tok)
		if k < 0 {
			break
		}
		if k > 0 {
			dst = append(dst, fragment{start: pos, end: pos + k, tok: -1})
		}
		dst = append(dst, fragment{start: pos + k, end: pos + k + len(tok), tok: id})
		pos += k + len(tok)
	}
	if pos < f.end {
		dst = append(dst, fragment{start: pos, end: f.end, tok: -1})
	}
	return dst
}
