package tokenizer

// UTF-8 handling with llama.cpp's exact leniency. Go's unicode/utf8 rejects
// overlong forms and surrogates; llama.cpp's decoder accepts them (it checks only
// lead and continuation bit patterns), and that decides how invalid input is
// tokenized, so these helpers reproduce it byte for byte.

const replacementCpt = 0xFFFD

// seqLen is the sequence length llama.cpp assumes from a lead byte's high nibble
// (unicode_len_utf8): continuation bytes count as 1, 0xF8..0xFF as 4.
func seqLen(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// decodeCpt decodes one codepoint at s[i:] the way llama.cpp does. ok is false for
// an invalid sequence; the caller then emits U+FFFD and advances one byte.
func decodeCpt(s string, i int) (cpt uint32, size int, ok bool) {
	b := s[i]
	switch {
	case b&0x80 == 0:
		return uint32(b), 1, true
	case b&0x40 == 0:
		return 0, 1, false
	case b&0x20 == 0:
		if i+1 >= len(s) || !isCont(s[i+1]) {
			return 0, 1, false
		}
		return uint32(b&0x1f)<<6 | uint32(s[i+1]&0x3f), 2, true
	case b&0x10 == 0:
		if i+2 >= len(s) || !isCont(s[i+1]) || !isCont(s[i+2]) {
			return 0, 1, false
		}
		return uint32(b&0x0f)<<12 | uint32(s[i+1]&0x3f)<<6 | uint32(s[i+2]&0x3f), 3, true
	case b&0x08 == 0:
		if i+3 >= len(s) || !isCont(s[i+1]) || !isCont(s[i+2]) || !isCont(s[i+3]) {
			return 0, 1, false
		}
		return uint32(b&0x07)<<18 | uint32(s[i+1]&0x3f)<<12 | uint32(s[i+2]&0x3f)<<6 | uint32(s[i+3]&0x3f), 4, true
	}
	return 0, 1, false
}

func isCont(b byte) bool { return b&0xc0 == 0x80 }

// appendCpts decodes s into codepoints, invalid bytes becoming U+FFFD one byte at a
// time (unicode_cpts_from_utf8).
func appendCpts(dst []uint32, s string) []uint32 {
	for i := 0; i < len(s); {
		cpt, n, ok := decodeCpt(s, i)
		if !ok {
			cpt = replacementCpt
		}
		dst = append(dst, cpt)
		i += n
	}
	return dst
}

// appendUTF8 encodes cpt like unicode_cpt_to_utf8, surrogates included. llama.cpp
// throws on codepoints above U+10FFFF (reachable through 4-byte sequences with a
// lead byte of 0xF4..0xF7); kvpack writes U+FFFD instead of failing.
func appendUTF8(dst []byte, cpt uint32) []byte {
	switch {
	case cpt <= 0x7f:
		return append(dst, byte(cpt))
	case cpt <= 0x7ff:
		return append(dst, 0xc0|byte(cpt>>6), 0x80|byte(cpt&0x3f))
	case cpt <= 0xffff:
		return append(dst, 0xe0|byte(cpt>>12), 0x80|byte(cpt>>6&0x3f), 0x80|byte(cpt&0x3f))
	case cpt <= 0x10ffff:
		return append(dst, 0xf0|byte(cpt>>18), 0x80|byte(cpt>>12&0x3f), 0x80|byte(cpt>>6&0x3f), 0x80|byte(cpt&0x3f))
	}
	return appendUTF8(dst, replacementCpt)
}
