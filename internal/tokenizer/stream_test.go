package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStreamDecoderSplitsCharacters(t *testing.T) {
	tok := loadTokenizer(t, vocabSmolLM2)
	text := "日本語😀 ok ä"
	ids := tok.Encode(text, false, false)
	d := tok.NewStreamDecoder()
	var parts []string
	for _, id := range ids {
		s := d.Write(id)
		if !utf8.ValidString(s) {
			t.Fatalf("Write(%d) = %q: invalid UTF-8", id, s)
		}
		parts = append(parts, s)
	}
	parts = append(parts, d.Flush())
	if got := strings.Join(parts, ""); got != text {
		t.Errorf("stream = %q, want %q", got, text)
	}
	if !slices.Contains(parts[:len(ids)], "") {
		t.Errorf("no token was held back: %q (ids %v)", parts, ids)
	}
}

func TestStreamDecoderInvalid(t *testing.T) {
	tok := loadTokenizer(t, vocabStories) // byte tokens: <0xXX> is 3+XX
	b := func(x byte) int32 { return 3 + int32(x) }
	tests := []struct {
		ids  []int32
		want []string // one per Write, then Flush
	}{
		{[]int32{b(0xE6), b(0x97), b(0xA5)}, []string{"", "", "日", ""}},
		{[]int32{b(0xE6), b('A')}, []string{"", "\uFFFDA", ""}},
		{[]int32{b(0xE6), b(0x97)}, []string{"", "", "\uFFFD\uFFFD"}},
		{[]int32{b(0xFF), b(0x80)}, []string{"\uFFFD", "\uFFFD", ""}},
		{[]int32{b(0xE0), b(0x80)}, []string{"", "\uFFFD\uFFFD", ""}}, // E0 80 can never complete
		{[]int32{1, b('x'), 2}, []string{"", "x", "", ""}},            // control tokens are silent
	}
	for _, tc := range tests {
		d := tok.NewStreamDecoder()
		var got []string
		for _, id := range tc.ids {
			got = append(got, d.Write(id))
		}
		got = append(got, d.Flush())
		if !slices.Equal(got, tc.want) {
			t.Errorf("ids %v: got %q, want %q", tc.ids, got, tc.want)
		}
	}
}
