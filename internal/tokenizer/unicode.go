package tokenizer

import (
	"sync"
	"unicode"
)

// Codepoint classes as llama.cpp's pre-tokenizers see them (unicode_cpt_flags):
// one general category per codepoint plus the regex \s flag.
const (
	clsLetter uint8 = 1 << iota // \p{L}
	clsNumber                   // \p{N}
	clsPunct                    // \p{P}
	clsSpace                    // \s: Unicode White_Space, the set llama.cpp uses
)

var (
	bmpOnce  sync.Once
	bmpClass []uint8 // class of every codepoint below 0x10000
)

// classOf returns the class bits of cpt. Codepoints beyond U+10FFFF (which
// llama.cpp's lenient decoder can produce) have none.
func classOf(cpt uint32) uint8 {
	if cpt < 0x80 {
		return asciiClass[cpt]
	}
	if cpt < 0x10000 {
		bmpOnce.Do(buildBMP)
		return bmpClass[cpt]
	}
	if cpt > unicode.MaxRune {
		return 0
	}
	return computeClass(rune(cpt))
}

func buildBMP() {
	t := make([]uint8, 0x10000)
	for r := rune(0); r < 0x10000; r++ {
		t[r] = computeClass(r)
	}
	bmpClass = t
}

// computeClass maps Go's Unicode 15.0 tables to llama.cpp's categories. llama.cpp
// generated its tables from Unicode 15.1, whose only new letters are CJK Unified
// Ideographs Extension I (U+2EBF0..U+2EE5D); they are added by hand.
func computeClass(r rune) uint8 {
	var c uint8
	switch {
	case unicode.Is(unicode.L, r), r >= 0x2EBF0 && r <= 0x2EE5D:
		c = clsLetter
	case unicode.Is(unicode.N, r):
		c = clsNumber
	case unicode.Is(unicode.P, r):
		c = clsPunct
	}
	if unicode.Is(unicode.White_Space, r) {
		c |= clsSpace
	}
	return c
}

var asciiClass = func() (t [0x80]uint8) {
	for r := rune(0); r < 0x80; r++ {
		t[r] = computeClass(r)
	}
	return t
}()

// lowerASCII folds A-Z; the contraction rules of llama3/qwen2 compare the
// lowered codepoint with ASCII letters only, and no other codepoint lowers to one
// of s, t, m, d, r, e, v, l (U+212A KELVIN SIGN lowers to k, which is not used).
func lowerASCII(cpt uint32) uint32 {
	if cpt >= 'A' && cpt <= 'Z' {
		return cpt + ('a' - 'A')
	}
	return cpt
}
