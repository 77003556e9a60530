package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// tinySPM is a hand-made SentencePiece vocabulary for exact expectations.
func tinySPM(t *testing.T, mut func(*Config)) *Tokenizer {
	t.Helper()
	cfg := Config{
		Model:  "llama",
		Tokens: []string{"<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "aa", "▁a", "▁ab", "<0xFF>", "<0x61>", "<user>", "<0x20>"},
		Scores: []float32{0, 0, 0, -1, -2, -3, -0.5, -0.6, -0.7, -0.1, 0, 0, 0, 0},
		Types:  []int32{2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6, 6, 4, 6},
		BOS:    -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1,
	}
	if mut != nil {
		mut(&cfg)
	}
	tok, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestNewErrors(t *testing.T) {
	base := func() Config {
		return Config{Model: "gpt2", Pre: "smollm", Tokens: []string{"a", "b", "ab"}, Merges: []string{"a b"},
			BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1}
	}
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"unknown model", func(c *Config) { c.Model = "bert" }, `unknown tokenizer model "bert"`},
		{"unknown pre", func(c *Config) { c.Pre = "tekken" }, `unknown pre-tokenizer type "tekken"`},
		{"empty vocab", func(c *Config) { c.Tokens = nil }, "empty vocabulary"},
		{"short scores", func(c *Config) { c.Scores = []float32{0} }, "1 scores for 3 tokens"},
		{"short types", func(c *Config) { c.Types = []int32{1, 1} }, "2 token types for 3 tokens"},
		{"bos out of range", func(c *Config) { c.BOS = 3 }, "BOS id 3 out of range"},
		{"negative eos", func(c *Config) { c.EOS = -2 }, "EOS id -2 out of range"},
		{"no merges", func(c *Config) { c.Merges = nil }, "without merges"},
		{"empty merge side", func(c *Config) { c.Merges = []string{"a "} }, "empty side"},
		{"add_bos without bos", func(c *Config) { c.AddBOS, c.HasAddBOS = true, true }, "no BOS token"},
		{"add_eos without eos", func(c *Config) { c.AddEOS, c.HasAddEOS = true, true }, "no EOS token"},
	}
	for _, tc := range tests {
		cfg := base()
		tc.mut(&cfg)
		_, err := New(cfg)
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrConfig containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := New(base()); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestSPMEncode(t *testing.T) {
	tok := tinySPM(t, nil)
	tests := []struct {
		text         string
		add, special bool
		want         []int32
	}{
		{"", true, false, []int32{1}},                       // llama.cpp: BOS only
		{"", false, false, []int32{}},                       // nothing
		{"ab", false, false, []int32{9}},                    // "▁ab" scores best
		{"aaa", false, false, []int32{3, 7, 4}},             // "aa" (-0.6) beats "▁a" (-0.7), leftmost first
		{"baa", false, false, []int32{3, 5, 7}},             // "aa" (-0.6) merges; "▁b" is no token
		{"b\xffa", false, false, []int32{3, 5, 10, 11}},     // 0xFF starts a 4-byte symbol: "\xffa" -> bytes
		{"b\xc3", false, false, []int32{3, 5, 0}},           // no <0xC3> nor "\xc3" token: UNK
		{"<s>a", false, true, []int32{1, 8}},                // text after a special token gets the space prefix
		{"<s>a", false, false, []int32{3, 0, 0, 0, 4}},      // '<' 's' '>' are not tokens, no byte tokens: UNK each
		{"b<user>b", false, false, []int32{3, 5, 12, 3, 5}}, // user-defined tokens always split; prefix after them
		{"a<unk>", false, true, []int32{8, 0}},
		{"a b", true, false, []int32{1, 8, 3, 5}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text, tc.add, tc.special); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q, %v, %v) = %v, want %v", tc.text, tc.add, tc.special, got, tc.want)
		}
	}
}

// stories260K with invalid UTF-8, derived from llama.cpp's algorithm: a lead
// byte claims up to 3 following bytes whatever they are, and a symbol that is no
// token comes out as byte tokens (<0xXX> is id 3+XX in this vocabulary).
func TestSPMInvalidUTF8(t *testing.T) {
	tok := loadTokenizer(t, vocabStories)
	space := tok.tokID["▁"]
	tests := []struct {
		text string
		want []int32
	}{
		{"\xffab", []int32{space, 3 + 0xff, 3 + 'a', 3 + 'b'}},
		{"\x80", []int32{space, 3 + 0x80}},
		{"\xe6\x97", []int32{space, 3 + 0xe6, 3 + 0x97}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text, false, false); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
		if got := tok.Decode(tok.Encode(tc.text, false, false), false); got != tc.text {
			t.Errorf("Decode(Encode(%q)) = %q", tc.text, got)
		}
	}
}

// Byte-level BPE sees each invalid byte as U+FFFD (which the oracle goldens
// cover: JS strings cannot carry invalid UTF-8 to llama.cpp).
func TestBPEInvalidUTF8(t *testing.T) {
	tok := loadTokenizer(t, vocabSmolLM2)
	tests := []struct{ bad, same string }{
		{"a\xffb", "a\uFFFDb"},
		{"\xe2\x82 x", "\uFFFD\uFFFD x"},
		{"\xc0\x80", "\x00"},
		{"tail\xf0\x9f", "tail\uFFFD\uFFFD"},
		{"\xf4\x90\x80\x80!", "\uFFFD!"}, // llama.cpp throws here; kvpack substitutes U+FFFD
	}
	for _, tc := range tests {
		got, want := tok.Encode(tc.bad, false, false), tok.Encode(tc.same, false, false)
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want Encode(%q) = %v", tc.bad, got, tc.same, want)
		}
	}
}

func TestSpecialPartition(t *testing.T) {
	tok := tinySPM(t, func(c *Config) {
		c.Tokens = append(c.Tokens, "<s><s>", "s>")
		c.Scores = append(c.Scores, 0, 0)
		c.Types = append(c.Types, TypeControl, TypeControl)
	})
	var sc scratch
	frags := tok.partition(&sc, "x<s><s><s>s>", true)
	var got []string
	for _, f := range frags {
		if f.tok >= 0 {
			got = append(got, "#"+tok.tokens[f.tok])
		} else {
			got = append(got, "x:"+"x<s><s><s>s>"[f.start:f.end])
		}
	}
	// longest first: "<s><s>" takes the first two, then "<s>" (3 bytes) beats "s>"
	want := []string{"x:x", "#<s><s>", "#<s>", "#s>"}
	if !slices.Equal(got, want) {
		t.Errorf("partition: got %q, want %q", got, want)
	}
}

func TestPieces(t *testing.T) {
	spm := tinySPM(t, nil)
	bpe := loadTokenizer(t, vocabSmolLM2)
	tests := []struct {
		tok     *Tokenizer
		id      int32
		special bool
		want    string
	}{
		{spm, 8, false, " a"},
		{spm, 10, false, "\xff"},
		{spm, 1, false, ""},
		{spm, 1, true, "<s>"},
		{spm, 0, false, ""}, // unknown renders only with special
		{spm, 0, true, "<unk>"},
		{spm, 12, false, "<user>"}, // user-defined always renders
		{spm, -1, true, ""},
		{spm, 99, true, ""},
		{bpe, bpe.tokID["Ġ"], false, " "},
		{bpe, bpe.tokID["Ċ"], false, "\n"},
		{bpe, bpe.tokID["Ã"], false, "\xc3"},
		{bpe, 1, false, ""},
		{bpe, 1, true, "<|im_start|>"},
	}
	for _, tc := range tests {
		if got := string(tc.tok.Piece(tc.id, tc.special)); got != tc.want {
			t.Errorf("Piece(%d, %v) = %q, want %q", tc.id, tc.special, got, tc.want)
		}
	}
	if got := string(bpe.TokenBytes(2)); got != "<|im_end|>" {
		t.Errorf("TokenBytes(<|im_end|>) = %q", got)
	}
	if got := string(appendByteDecoded(nil, "aĀ\u4e00")); got != "a\x00[UNK_BYTE_0xe4b880aĀ\u4e00]" {
		t.Errorf("byte decoding outside the alphabet: %q", got)
	}
}

func TestDecode(t *testing.T) {
	spm := tinySPM(t, nil)
	if got := spm.Decode([]int32{8, 3, 5}, false); got != "a b" {
		t.Errorf("SPM decode strips one leading space: %q", got)
	}
	if got := spm.Decode([]int32{1, 8}, false); got != " a" {
		t.Errorf("SPM decode after BOS keeps the space (remove_special=false): %q", got)
	}
	if got := spm.Decode([]int32{1, 8}, true); got != "<s> a" {
		t.Errorf("SPM decode with special: %q", got)
	}
	tests := []struct{ in, want string }{
		{"Hello , world . Yes ? No !", "Hello, world. Yes? No!"},
		{"it ' s", "it's"},
		{"a ' b ' c", "a'b'c"},
		{"a ' ' b", "a'' b"}, // the space dropped after the first quote no longer counts
		{"he 's I 'm we 're you 've I 'll don 't he 'd", "he's I'm we're you've I 'll don 't he 'd"},
		{" .", "."},
		{"", ""},
	}
	for _, tc := range tests {
		if got := string(cleanSpaces([]byte(tc.in))); got != tc.want {
			t.Errorf("cleanSpaces(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEOG(t *testing.T) {
	cfg := Config{Model: "gpt2", Pre: "gpt-2", Merges: []string{"a b"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1,
		Tokens: []string{"a", "b", "ab", "<|return|>", "<|call|>", "<|end|>", "<|fim_pad|>", "<|im_end|>", "<eot>", "x", "y", "z", "<|channel|>"},
		Types:  []int32{1, 1, 1, 3, 3, 3, 3, 1, 3, 1, 1, 1, 3}}
	tok, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// EOS defaults to 11 ("z") as in llama.cpp; <|end|> drops out next to
	// <|return|> and <|call|>; <|im_end|> is forced to control.
	want := []int32{3, 4, 6, 7, 11}
	if got := tok.EOGTokens(); !slices.Equal(got, want) {
		t.Errorf("EOG = %v, want %v", got, want)
	}
	if tok.EOS() != 11 || tok.BOS() != 11 || tok.EOT() != 5 { // lowest-numbered end-of-turn text
		t.Errorf("bos %d eos %d eot %d", tok.BOS(), tok.EOS(), tok.EOT())
	}
	if !tok.IsControl(7) || tok.IsControl(5) || tok.IsControl(12) || !tok.IsEOG(6) || tok.IsEOG(5) {
		t.Errorf("attributes: im_end control %v, end control %v, channel control %v",
			tok.IsControl(7), tok.IsControl(5), tok.IsControl(12))
	}
	if got := tok.Encode("x<|channel|>", false, false); !slices.Equal(got, []int32{9, 12}) {
		t.Errorf("<|channel|> becomes user-defined (always split): %v", got)
	}
}

func TestRoundTrip(t *testing.T) {
	texts := append(oracleTexts(t), "日本語\x00nul", "a\u0301\u0301\u0301")
	for _, name := range []string{vocabStories, vocabSmolLM2} {
		tok := loadTokenizer(t, name)
		for _, s := range texts {
			if got := tok.Decode(tok.Encode(s, false, false), false); got != s {
				t.Errorf("%s: Decode(Encode(%q)) = %q", name, head(s, 60), head(got, 60))
			}
			if !utf8.ValidString(s) {
				continue
			}
			d := tok.NewStreamDecoder()
			var b strings.Builder
			for _, id := range tok.Encode(s, false, false) {
				b.WriteString(d.Write(id))
			}
			b.WriteString(d.Flush())
			want := s
			if tok.set.addSpacePrefix && s != "" {
				want = " " + s // the stream keeps the SentencePiece prefix space
			}
			if b.String() != want {
				t.Errorf("%s: stream of %q = %q", name, head(s, 60), head(b.String(), 60))
			}
		}
	}
}

// A GGUF "llama" vocabulary that carries merges still tokenizes by scores, as in
// llama.cpp; UseMerges (set by ConfigFromHF) switches to ranked merges.
func TestSPMMerges(t *testing.T) {
	byScores := tinySPM(t, func(c *Config) { c.Merges = []string{"▁ a", "a b"} })
	if got := byScores.Encode("ab", false, false); !slices.Equal(got, []int32{9}) {
		t.Errorf("scores: %v, want [9]", got)
	}
	byRank := tinySPM(t, func(c *Config) { c.Merges, c.UseMerges = []string{"a b", "▁ a"}, true })
	if got := byRank.Encode("ab", false, false); !slices.Equal(got, []int32{3, 6}) {
		t.Errorf("ranked merges: %v, want [3 6] (\"a b\" ranks first, no \"▁ ab\" merge)", got)
	}
	_, err := New(Config{Model: "llama", Tokens: []string{"a"}, UseMerges: true, BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1})
	if !errors.Is(err, ErrConfig) {
		t.Errorf("UseMerges without merges: %v", err)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := loadTokenizer(t, vocabSmolLM2)
	texts := oracleTexts(t)
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s, false, true)
	}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			ok := true
			for r := 0; r < 3; r++ {
				for i, s := range texts {
					ok = ok && slices.Equal(tok.Encode(s, false, true), want[i])
				}
			}
			done <- ok
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Error("concurrent Encode disagreed with sequential Encode")
		}
	}
}
