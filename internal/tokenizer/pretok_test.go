package tokenizer

import (
	"slices"
	"testing"
)

func splitStrings(kind preKind, text string) []string {
	var ct cptText
	ct.reset(text)
	ends, _ := splitWords(&ct, preStages[kind], nil, nil)
	var out []string
	lo := 0
	for _, hi := range ends {
		var b []byte
		for _, c := range ct.cpts[lo:hi] {
			b = appendUTF8(b, c)
		}
		out = append(out, string(b))
		lo = hi
	}
	return out
}

// The expectations are derived by hand from each pre-tokenizer's regex (see the
// step functions); TestOracleGoldens checks the same splitters against llama.cpp
// through the SmolLM2 vocabulary with tokenizer.ggml.pre overridden.
func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		kind preKind
		text string
		want []string
	}{
		{preQwen2, "Hello world", []string{"Hello", " world"}},
		{preQwen2, "12345", []string{"1", "2", "3", "4", "5"}},
		{preQwen2, "don't I'LL", []string{"don", "'t", " I", "'LL"}},
		{preQwen2, "Hello  world", []string{"Hello", " ", " world"}},
		{preQwen2, "hi!!\n\nthere", []string{"hi", "!!\n\n", "there"}},
		{preQwen2, "a \n b", []string{"a", " \n", " b"}},
		{preQwen2, "x  \t y", []string{"x", "  \t", " y"}},
		{preQwen2, "$100", []string{"$", "1", "0", "0"}},
		{preQwen2, "(test)", []string{"(test", ")"}},
		{preQwen2, "end.  ", []string{"end", ".", "  "}},
		{preQwen2, "word\r\n\r\nnext", []string{"word", "\r\n\r\n", "next"}},
		{preQwen2, "  leading", []string{" ", " leading"}},
		{preQwen2, "日本語 😀😀 ok", []string{"日本語", " 😀😀", " ok"}},
		{preQwen2, "'s'S x' 'abc x'ok", []string{"'s", "'S", " x", "'", " '", "abc", " x", "'ok"}},
		{preQwen2, "a\u00a0b\u3000", []string{"a", "\u00a0b", "\u3000"}},
		{preQwen2, "", nil},
		{preLlama3, "12345 678", []string{"123", "45", " ", "678"}},
		{preLlama3, "don't I'LL", []string{"don", "'t", " I", "'LL"}},
		{preGPT2, "Hello  world", []string{"Hello", " ", " world"}},
		{preGPT2, "12345 678", []string{"12345", " 678"}},
		{preGPT2, "don't I'LL", []string{"don", "'t", " I", "'", "LL"}},
		{preGPT2, "a\n\nb", []string{"a", "\n", "\n", "b"}},
		{preGPT2, "x   ", []string{"x", "   "}},
		{preSmolLM, "a 12", []string{"a", " ", "1", "2"}},
		{preSmolLM, "x  1 y", []string{"x", "  ", "1", " y"}},
		{preDefault, "hello, world!! 12345", []string{"hello", ",", " world", "!!", " ", "123", "45"}},
		{preDefault, "a+b=c $5", []string{"a", "+", "b", "=", "c", " ", "$", "5"}},
	}
	for _, tc := range tests {
		if got := splitStrings(tc.kind, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("kind %d, %q: got %q, want %q", tc.kind, tc.text, got, tc.want)
		}
	}
}

// Invalid UTF-8 reaches the splitters as U+FFFD, one per bad byte, and
// overlong or surrogate forms decode as llama.cpp decodes them.
func TestLenientUTF8(t *testing.T) {
	tests := []struct {
		in   string
		want []uint32
	}{
		{"a\xffb", []uint32{'a', 0xFFFD, 'b'}},
		{"\xc3", []uint32{0xFFFD}},
		{"\xc3(", []uint32{0xFFFD, '('}},
		{"\xe2\x82", []uint32{0xFFFD, 0xFFFD}},
		{"\xc0\x80", []uint32{0}},                // overlong NUL, accepted
		{"\xed\xa0\x80", []uint32{0xD800}},       // surrogate, accepted
		{"\xf4\x90\x80\x80", []uint32{0x110000}}, // beyond Unicode, accepted
		{"\xf8\x88\x80\x80\x80", []uint32{0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}},
		{"é日😀", []uint32{0xE9, 0x65E5, 0x1F600}},
	}
	for _, tc := range tests {
		if got := appendCpts(nil, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %x, want %x", tc.in, got, tc.want)
		}
	}
	if got := string(appendUTF8(nil, 0x110000)); got != "\uFFFD" {
		t.Errorf("codepoint beyond Unicode encodes as %q", got)
	}
	if got := string(appendUTF8(nil, 0xD800)); got != "\xed\xa0\x80" {
		t.Errorf("surrogate encodes as %q", got)
	}
}
