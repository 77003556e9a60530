package tokenizer

import (
	"testing"
	"unicode/utf8"
)

// FuzzEncode: any bytes encode without panicking to in-range ids, decode back to
// the input when it is valid UTF-8 (for vocabularies without decode clean-up),
// and stream as valid UTF-8.
func FuzzEncode(f *testing.F) {
	for _, s := range oracleTexts(f) {
		f.Add(s)
	}
	for _, s := range []string{"\xff", "a\xc3", "\xe2\x82\xac\xe2", "\xf4\x90\x80\x80", "\xed\xa0\x80", "<|im_start|", "'", " '"} {
		f.Add(s)
	}
	hf, err := ConfigFromHF(hfTinyStories)
	if err != nil {
		f.Fatal(err)
	}
	hfTok, err := New(hf)
	if err != nil {
		f.Fatal(err)
	}
	type subject struct {
		tok       *Tokenizer
		roundTrip bool
	}
	subjects := []subject{
		{loadTokenizer(f, vocabStories), true}, {loadTokenizer(f, vocabSmolLM2), true}, {hfTok, false},
		{loadTokenizerPre(f, vocabSmolLM2, "qwen2"), true}, {loadTokenizerPre(f, vocabSmolLM2, "llama-bpe"), false},
		{loadTokenizerPre(f, vocabSmolLM2, "default"), false},
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sub := range subjects {
			for _, special := range []bool{false, true} {
				ids := sub.tok.Encode(s, special, special)
				for _, id := range ids {
					if id < 0 || int(id) >= sub.tok.VocabSize() {
						t.Fatalf("Encode(%q) produced id %d", s, id)
					}
				}
				out := sub.tok.Decode(ids, special)
				if !special && sub.roundTrip && utf8.ValidString(s) && representable(sub.tok, s) && out != s {
					t.Fatalf("Decode(Encode(%q)) = %q", s, out)
				}
				d := sub.tok.NewStreamDecoder()
				for _, id := range ids {
					if w := d.Write(id); !utf8.ValidString(w) {
						t.Fatalf("stream of %q wrote invalid %q", s, w)
					}
				}
				if w := d.Flush(); !utf8.ValidString(w) {
					t.Fatalf("stream of %q flushed invalid %q", s, w)
				}
			}
		}
	})
}

// representable reports whether every byte of s has a character in a byte-level
// vocabulary (SmolLM2 lacks a few, e.g. 0x04, which llama.cpp then drops).
func representable(tok *Tokenizer, s string) bool {
	if tok.set.spm {
		return true
	}
	for i := 0; i < len(s); i++ {
		if tok.bpe.byteSym[s[i]] < 0 {
			return false
		}
	}
	return true
}
