package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// The two real vocabularies, dumped from their GGUF files' tokenizer.* metadata
// (keys as in GGUF) so these tests need neither internal/gguf nor the models.
const (
	vocabStories = "stories260K"  // SentencePiece, 512 tokens (llama2.c stories260K)
	vocabSmolLM2 = "smollm2-135m" // byte-level BPE, pre "smollm" (SmolLM2-135M-Instruct)
)

type ggufVocab struct {
	Model          string    `json:"tokenizer.ggml.model"`
	Pre            string    `json:"tokenizer.ggml.pre"`
	Tokens         []string  `json:"tokenizer.ggml.tokens"`
	Scores         []float32 `json:"tokenizer.ggml.scores"`
	Types          []int32   `json:"tokenizer.ggml.token_type"`
	Merges         []string  `json:"tokenizer.ggml.merges"`
	BOS            *uint32   `json:"tokenizer.ggml.bos_token_id"`
	EOS            *uint32   `json:"tokenizer.ggml.eos_token_id"`
	UNK            *uint32   `json:"tokenizer.ggml.unknown_token_id"`
	PAD            *uint32   `json:"tokenizer.ggml.padding_token_id"`
	EOT            *uint32   `json:"tokenizer.ggml.eot_token_id"`
	AddBOS         *bool     `json:"tokenizer.ggml.add_bos_token"`
	AddEOS         *bool     `json:"tokenizer.ggml.add_eos_token"`
	AddSpacePrefix *bool     `json:"tokenizer.ggml.add_space_prefix"`
	ChatTemplate   string    `json:"tokenizer.chat_template"`
}

func (v *ggufVocab) config() Config {
	id := func(p *uint32) int32 {
		if p != nil && int(*p) < len(v.Tokens) {
			return int32(*p)
		}
		return -1
	}
	flag := func(p *bool) (bool, bool) {
		if p == nil {
			return false, false
		}
		return *p, true
	}
	c := Config{Model: v.Model, Pre: v.Pre, Tokens: v.Tokens, Scores: v.Scores, Types: v.Types,
		Merges: v.Merges, BOS: id(v.BOS), EOS: id(v.EOS), UNK: id(v.UNK), PAD: id(v.PAD), EOT: id(v.EOT),
		ChatTemplate: v.ChatTemplate}
	c.AddBOS, c.HasAddBOS = flag(v.AddBOS)
	c.AddEOS, c.HasAddEOS = flag(v.AddEOS)
	c.AddSpacePrefix, c.HasAddSpacePrefix = flag(v.AddSpacePrefix)
	return c
}

var (
	vocabMu     sync.Mutex
	vocabCache  = map[string]*Tokenizer{}
	configCache = map[string]Config{}
)

// loadConfig reads a vocabulary dump (once per test binary; callers must not
// modify the slices of the returned Config).
func loadConfig(t testing.TB, name string) Config {
	t.Helper()
	vocabMu.Lock()
	defer vocabMu.Unlock()
	return loadConfigLocked(t, name)
}

func loadConfigLocked(t testing.TB, name string) Config {
	t.Helper()
	if c, ok := configCache[name]; ok {
		return c
	}
	f, err := os.Open(filepath.Join("testdata", name+".vocab.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var v ggufVocab
	if err := json.NewDecoder(zr).Decode(&v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	configCache[name] = v.config()
	return configCache[name]
}

// loadTokenizer builds (once per test binary) the tokenizer of a real vocabulary.
func loadTokenizer(t testing.TB, name string) *Tokenizer {
	t.Helper()
	return loadTokenizerPre(t, name, "")
}

// loadTokenizerPre is loadTokenizer with tokenizer.ggml.pre replaced (unless "").
func loadTokenizerPre(t testing.TB, name, pre string) *Tokenizer {
	t.Helper()
	vocabMu.Lock()
	defer vocabMu.Unlock()
	key := name + "|" + pre
	if tok, ok := vocabCache[key]; ok {
		return tok
	}
	cfg := loadConfigLocked(t, name)
	if pre != "" {
		cfg.Pre = pre
	}
	tok, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s, pre %q): %v", name, pre, err)
	}
	vocabCache[key] = tok
	return tok
}

// lossy decodes bytes as V8 does when a C++ string becomes a JS string (the
// WHATWG decoder): each maximal invalid subpart becomes one U+FFFD.
func lossy(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += maximalSubpart(s[i:])
	}
	return b.String()
}

// maximalSubpart is the length of the invalid sequence at the start of s that
// the WHATWG decoder replaces with one U+FFFD.
func maximalSubpart(s string) int {
	b := s[0]
	n, lo, hi := 0, byte(0x80), byte(0xBF)
	switch {
	case b >= 0xC2 && b <= 0xDF:
		n = 2
	case b == 0xE0:
		n, lo = 3, 0xA0
	case b == 0xED:
		n, hi = 3, 0x9F
	case b >= 0xE1 && b <= 0xEF:
		n = 3
	case b == 0xF0:
		n, lo = 4, 0x90
	case b >= 0xF1 && b <= 0xF3:
		n = 4
	case b == 0xF4:
		n, hi = 4, 0x8F
	default:
		return 1
	}
	k := 1
	for k < n && k < len(s) {
		c := s[k]
		if (k == 1 && (c < lo || c > hi)) || (k > 1 && (c < 0x80 || c > 0xBF)) {
			break
		}
		k++
	}
	return k
}
