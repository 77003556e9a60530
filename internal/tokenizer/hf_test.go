package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const hfTinyStories = "testdata/hf-tinystories-656k" // tokenizer files of /work/shared/data/models/tinystories-656k

type hfResult struct {
	Text       string  `json:"text"`
	IDs        []int32 `json:"ids"`
	IDsSpecial []int32 `json:"idsSpecial"`
	Decoded    string  `json:"decoded"`
}

// hfTexts are the oracle texts without this vocabulary's added tokens: Hugging
// Face matches "normalized" added tokens after normalization ("▁<unk>"), which
// kvpack does not reproduce (see ConfigFromHF).
func hfTexts(t *testing.T) []string {
	var out []string
	for _, s := range oracleTexts(t) {
		if !strings.Contains(s, "<unk>") && !strings.Contains(s, "_story|>") {
			out = append(out, s)
		}
	}
	return append(out, "Once upon a time, there was a little girl named Lily.", "One day, Tim said, \"Let's play!\"")
}

// TestConfigFromHFGolden compares ConfigFromHF's SentencePiece-style BPE with
// Hugging Face tokenizers' answers, committed in testdata; KVPACK_HF_ORACLE=update
// regenerates them with testdata/tok_hf_oracle.py (needs `pip install tokenizers`).
func TestConfigFromHFGolden(t *testing.T) {
	cfg, err := ConfigFromHF(hfTinyStories)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model != "llama" || !cfg.UseMerges || !cfg.AddSpacePrefix || !cfg.AddBOS || cfg.AddEOS || cfg.BOS != 1 || cfg.EOS != 2 ||
		cfg.UNK != 0 || len(cfg.Tokens) != 2048 || len(cfg.Merges) != 1967 || cfg.Types[0] != TypeUnknown || cfg.Types[1] != TypeControl {
		t.Fatalf("config: model %q prefix %v bos %d/%v eos %d/%v unk %d tokens %d merges %d",
			cfg.Model, cfg.AddSpacePrefix, cfg.BOS, cfg.AddBOS, cfg.EOS, cfg.AddEOS, cfg.UNK, len(cfg.Tokens), len(cfg.Merges))
	}
	tok, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	texts := hfTexts(t)
	golden := filepath.Join("testdata", "tinystories-656k.hf-golden.json")
	var results []hfResult
	if os.Getenv("KVPACK_HF_ORACLE") == "update" {
		results = askHF(t, texts)
		data, _ := json.MarshalIndent(map[string]any{"results": results}, "", " ")
		if err := os.WriteFile(golden, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		var g struct{ Results []hfResult }
		readJSONTest(t, golden, &g)
		results = g.Results
	}
	if len(results) != len(texts) {
		t.Fatalf("golden has %d texts, want %d; regenerate with KVPACK_HF_ORACLE=update", len(results), len(texts))
	}
	for i, r := range results {
		if r.Text != texts[i] {
			t.Fatalf("golden text %d differs; regenerate with KVPACK_HF_ORACLE=update", i)
		}
		checkHF(t, tok, r)
	}
}

func checkHF(t *testing.T, tok *Tokenizer, r hfResult) {
	t.Helper()
	if got := tok.Encode(r.Text, false, false); !slices.Equal(got, r.IDs) {
		t.Errorf("Encode(%q):\n got %v\nwant %v", head(r.Text, 60), got, r.IDs)
	}
	if got := tok.Encode(r.Text, true, true); !slices.Equal(got, r.IDsSpecial) {
		t.Errorf("Encode(%q) with BOS:\n got %v\nwant %v", head(r.Text, 60), got, r.IDsSpecial)
	}
	if !slices.Contains(r.IDs, 0) { // HF pads decoded special tokens with spaces
		if got := tok.Decode(r.IDs, true); got != r.Decoded {
			t.Errorf("Decode(%q) = %q, want %q", head(r.Text, 60), got, r.Decoded)
		}
	}
}

func readJSONTest(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func askHF(t *testing.T, texts []string) []hfResult {
	t.Helper()
	py := os.Getenv("KVPACK_HF_PYTHON")
	if py == "" {
		py = "python3"
	}
	req, _ := json.Marshal(map[string]any{"texts": texts})
	cmd := exec.Command(py, filepath.Join("testdata", "tok_hf_oracle.py"), hfTinyStories)
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("HF oracle: %v\n%s", err, stderr.String())
	}
	var res struct{ Results []hfResult }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res.Results
}

// TestConfigFromHFByteLevel writes SmolLM2's vocabulary as a tokenizer.json
// (merges as pairs, the newer encoding) and checks that ConfigFromHF reproduces
// llama.cpp's tokenization of the GGUF.
func TestConfigFromHFByteLevel(t *testing.T) {
	src := loadConfig(t, vocabSmolLM2)
	dir := t.TempDir()
	vocab := map[string]int{}
	var added []map[string]any
	for id, s := range src.Tokens {
		vocab[s] = id
		if src.Types[id] == TypeControl {
			added = append(added, map[string]any{"id": id, "content": s, "special": true})
		}
	}
	pairs := make([][2]string, len(src.Merges))
	for i, m := range src.Merges {
		a, b, _ := strings.Cut(m, " ")
		pairs[i] = [2]string{a, b}
	}
	writeJSONFile(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
		"added_tokens": added,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Digits", "individual_digits": true},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		}},
		"post_processor": map[string]any{"type": "ByteLevel"},
		"decoder":        map[string]any{"type": "ByteLevel"},
		"model":          map[string]any{"type": "BPE", "vocab": vocab, "merges": pairs},
	})
	writeJSONFile(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token": "<|im_start|>", "eos_token": map[string]any{"content": "<|im_end|>"},
		"unk_token": "<|endoftext|>", "chat_template": src.ChatTemplate,
	})
	cfg, err := ConfigFromHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model != "gpt2" || cfg.Pre != "smollm" || cfg.AddBOS || cfg.BOS != 1 || cfg.EOS != 2 || cfg.ChatTemplate != src.ChatTemplate {
		t.Fatalf("config: model %q pre %q addBOS %v bos %d eos %d", cfg.Model, cfg.Pre, cfg.AddBOS, cfg.BOS, cfg.EOS)
	}
	tok, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ans oracleAnswer
	readGolden(t, filepath.Join("testdata", vocabSmolLM2+".golden.json"), &ans)
	for _, r := range ans.Results {
		if got := tok.Encode(r.Text, false, true); !slices.Equal(got, r.IDsSpecial) {
			t.Errorf("Encode(%q) = %v, want %v", head(r.Text, 60), got, r.IDsSpecial)
		}
	}
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHFPreTokenizer(t *testing.T) {
	split := func(re string) string {
		return `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + jsonString(re) +
			`},"behavior":"Isolated"},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]}`
	}
	tests := []struct{ pre, want string }{
		{`{"type":"ByteLevel","add_prefix_space":false}`, "gpt-2"},
		{split(hfRegexLlama3), "llama-bpe"},
		{split(hfRegexQwen2), "qwen2"},
		{split(`\s+`), ""},
		{`{"type":"ByteLevel","add_prefix_space":true}`, ""},
		{`{"type":"Whitespace"}`, ""},
	}
	for _, tc := range tests {
		var c hfComponent
		if err := json.Unmarshal([]byte(tc.pre), &c); err != nil {
			t.Fatal(err)
		}
		got, err := hfPre(&c)
		if got != tc.want || (tc.want == "") != errors.Is(err, ErrHF) {
			t.Errorf("hfPre(%s) = %q, %v; want %q", head(tc.pre, 60), got, err, tc.want)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestConfigFromHFErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ConfigFromHF(dir); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing tokenizer.json: %v", err)
	}
	for _, body := range []string{
		`{"model":{"type":"Unigram","vocab":[]}}`,
		`{"model":{"type":"WordPiece","vocab":{"a":0}}}`,
		`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`,
		`{"model":{"type":"BPE","vocab":{"a":0},"merges":[1]}}`,
		`not json`,
	} {
		if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ConfigFromHF(dir); err == nil {
			t.Errorf("ConfigFromHF(%s): no error", body)
		}
	}
}
