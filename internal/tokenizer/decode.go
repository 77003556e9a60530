package tokenizer

import "strings"

// buildPieces renders every token once, as llama.cpp's token-to-piece cache
// does (with special tokens shown).
func (t *Tokenizer) buildPieces() {
	t.pieces = make([]string, len(t.tokens))
	for id := range t.tokens {
		t.pieces[id] = t.renderPiece(int32(id))
	}
}

func (t *Tokenizer) renderPiece(id int32) string {
	text, a := t.tokens[id], t.attrs[id]
	switch {
	case a&(attrUnknown|attrControl|attrUserDefined) != 0:
		return text
	case a&attrNormal != 0:
		if t.set.spm {
			return strings.ReplaceAll(text, "▁", " ")
		}
		return string(appendByteDecoded(nil, text))
	case a&attrByte != 0:
		return string([]byte{tokenByte(text)})
	}
	return "" // unused and undefined tokens render as nothing
}

// tokenByte parses "<0xXX>" like llama.cpp (strtol over text[3:5], 0 on garbage).
func tokenByte(text string) byte {
	if len(text) < 4 {
		return 0
	}
	hexDigits := text[3:min(5, len(text))]
	var v byte
	for i := 0; i < len(hexDigits); i++ {
		c := hexDigits[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return v
		}
	}
	return v
}

// Piece is llama_token_to_piece: the bytes id stands for. Control and unknown
// tokens render as nothing unless special is set; user-defined tokens always
// render as their text. Out-of-range ids render as nothing.
func (t *Tokenizer) Piece(id int32, special bool) []byte {
	return []byte(t.piece(id, special))
}

func (t *Tokenizer) piece(id int32, special bool) string {
	if !t.valid(id) {
		return ""
	}
	if !special && t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return ""
	}
	return t.pieces[id]
}

// TokenBytes is the raw bytes id stands for: byte-level BPE characters decoded
// to bytes, SentencePiece's U+2581 as a space, <0xXX> as that byte, and control
// tokens as their text (Piece with special set).
func (t *Tokenizer) TokenBytes(id int32) []byte { return t.Piece(id, true) }

// Decode is llama_detokenize(remove_special=false, unparse_special=special): the
// pieces joined, the first piece's leading space dropped when the vocabulary adds
// a space prefix, and (for vocabularies that ask for it) spaces before
// punctuation and contractions cleaned up. The result may be invalid UTF-8 when
// ids split a multi-byte character; see StreamDecoder for streaming.
func (t *Tokenizer) Decode(ids []int32, special bool) string {
	var b []byte
	for i, id := range ids {
		p := t.piece(id, special)
		if i == 0 && t.set.addSpacePrefix && strings.HasPrefix(p, " ") {
			p = p[1:]
		}
		b = append(b, p...)
	}
	if t.set.pre.cleanSpaces {
		b = cleanSpaces(b)
	}
	return string(b)
}

// cleanSpaces runs llama.cpp's three clean-up passes in place: drop the space
// before ? ! . , ; turn " ' " into "'"; drop the space before 's 'm 're 've.
func cleanSpaces(b []byte) []byte {
	b = cleanPass(b, func(b []byte, i int) (dropPrev, dropNext bool) {
		x := b[i]
		return b[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','), false
	})
	b = cleanPass(b, func(b []byte, i int) (dropPrev, dropNext bool) {
		ok := b[i] == '\'' && i+1 < len(b) && b[i-1] == ' ' && b[i+1] == ' '
		return ok, ok
	})
	return cleanPass(b, func(b []byte, i int) (dropPrev, dropNext bool) {
		if b[i-1] != ' ' || b[i] != '\'' || i+1 >= len(b) {
			return false, false
		}
		x1 := b[i+1]
		if x1 == 's' || x1 == 'm' {
			return true, false
		}
		if i+2 < len(b) {
			x2 := b[i+2]
			return (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e'), false
		}
		return false, false
	})
}

// cleanPass copies b onto itself, dropping the byte before position i and/or the
// one after it when rule says so. rule reads the input as it stood before the
// pass, except that a dropped next byte reads as NUL (as llama.cpp's in-place
// loop sees it).
func cleanPass(b []byte, rule func(b []byte, i int) (dropPrev, dropNext bool)) []byte {
	if len(b) == 0 {
		return b
	}
	in := append([]byte(nil), b...)
	out := b[:1]
	for i := 1; i < len(in); i++ {
		dropPrev, dropNext := rule(in, i)
		if dropPrev {
			out = out[:len(out)-1]
		}
		out = append(out, in[i])
		if dropNext {
			in[i+1] = 0
			i++
		}
	}
	return out
}
