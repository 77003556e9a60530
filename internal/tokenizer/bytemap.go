package tokenizer

import "fmt"

// GPT-2's byte-level alphabet: every byte maps to one printable codepoint. Bytes
// '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to themselves; the other 68 (controls,
// space, DEL, 0x80..0xA0, soft hyphen) map in byte order to U+0100, U+0101, ...
var (
	byteToCpt  [256]uint32
	byteToUTF8 [256]string
	cptToByte  = map[uint32]byte{}
)

func init() {
	n := uint32(0)
	for b := 0; b < 256; b++ {
		cpt := uint32(b)
		if !selfMapped(b) {
			cpt = 256 + n
			n++
		}
		byteToCpt[b] = cpt
		byteToUTF8[b] = string(appendUTF8(nil, cpt))
		cptToByte[cpt] = byte(b)
	}
}

func selfMapped(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

// appendByteEncoded appends s with every byte replaced by its GPT-2 codepoint.
func appendByteEncoded(dst []byte, s []byte) []byte {
	for _, b := range s {
		dst = append(dst, byteToUTF8[b]...)
	}
	return dst
}

// appendByteDecoded reverses the byte-level alphabet for one token's text
// (llama_decode_text). A codepoint outside the alphabet is rendered as
// "[UNK_BYTE_0x<utf8 hex><token text>]", exactly as llama.cpp does.
func appendByteDecoded(dst []byte, text string) []byte {
	for i := 0; i < len(text); {
		cpt, n, ok := decodeCpt(text, i)
		if !ok {
			cpt = replacementCpt
		}
		i += n
		if b, found := cptToByte[cpt]; found {
			dst = append(dst, b)
			continue
		}
		dst = append(dst, "[UNK_BYTE_0x"...)
		for _, c := range appendUTF8(nil, cpt) {
			dst = fmt.Appendf(dst, "%02x", c)
		}
		dst = append(dst, text...)
		dst = append(dst, ']')
	}
	return dst
}
