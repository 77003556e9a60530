package tokenizer

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// emma100K is the first 100 KB of Emma from the shared data (beside the repo).
func emma100K(b *testing.B) string {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "texts", "emma.txt"))
	if err != nil {
		b.Skipf("emma.txt: %v", err)
	}
	return string(data[:100_000])
}

func benchEncode(b *testing.B, tok *Tokenizer) {
	text := emma100K(b)
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		n += len(tok.Encode(text, false, false))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeEmmaSmolLM2 re-encodes the same text, so it mostly measures
// the word cache; the Cold variant starts every iteration without one.
func BenchmarkEncodeEmmaSmolLM2(b *testing.B) { benchEncode(b, loadTokenizer(b, vocabSmolLM2)) }

func BenchmarkEncodeEmmaSmolLM2Cold(b *testing.B) {
	tok, err := New(loadConfig(b, vocabSmolLM2))
	if err != nil {
		b.Fatal(err)
	}
	text := emma100K(b)
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		tok.scratch = sync.Pool{}
		n += len(tok.Encode(text, false, false))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkEncodeEmmaStories260K(b *testing.B) { benchEncode(b, loadTokenizer(b, vocabStories)) }

func BenchmarkEncodeEmmaQwen2Pre(b *testing.B) {
	benchEncode(b, loadTokenizerPre(b, vocabSmolLM2, "qwen2"))
}

func BenchmarkEncodeEmmaHFTinyStories(b *testing.B) {
	cfg, err := ConfigFromHF(hfTinyStories)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, tok)
}

func BenchmarkDecodeEmmaSmolLM2(b *testing.B) {
	tok := loadTokenizer(b, vocabSmolLM2)
	ids := tok.Encode(emma100K(b), false, false)
	for b.Loop() {
		_ = tok.Decode(ids, false)
	}
	b.ReportMetric(float64(len(ids)*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkNewSmolLM2(b *testing.B) {
	cfg := loadConfig(b, vocabSmolLM2)
	for b.Loop() {
		if _, err := New(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
