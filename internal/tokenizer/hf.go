package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrHF is wrapped by ConfigFromHF's errors about unsupported tokenizer.json files.
var ErrHF = errors.New("unsupported Hugging Face tokenizer")

type hfTokenizer struct {
	AddedTokens []hfAddedToken `json:"added_tokens"`
	Normalizer  *hfComponent   `json:"normalizer"`
	PreTok      *hfComponent   `json:"pre_tokenizer"`
	PostProc    *hfComponent   `json:"post_processor"`
	Decoder     *hfComponent   `json:"decoder"`
	Model       struct {
		Type         string           `json:"type"`
		Vocab        map[string]int32 `json:"vocab"`
		Merges       json.RawMessage  `json:"merges"`
		ByteFallback bool             `json:"byte_fallback"`
		UnkToken     *string          `json:"unk_token"`
		IgnoreMerges bool             `json:"ignore_merges"`
	} `json:"model"`
}

type hfAddedToken struct {
	ID      int32  `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// hfComponent is any normalizer/pre-tokenizer/decoder/post-processor node; the
// fields used here are a union of what those types carry.
type hfComponent struct {
	Type           string          `json:"type"`
	Normalizers    []hfComponent   `json:"normalizers"`
	PreTokenizers  []hfComponent   `json:"pretokenizers"`
	Decoders       []hfComponent   `json:"decoders"`
	Processors     []hfComponent   `json:"processors"`
	Pattern        json.RawMessage `json:"pattern"`
	Content        string          `json:"content"`
	Prepend        string          `json:"prepend"`
	Replacement    string          `json:"replacement"`
	PrependScheme  string          `json:"prepend_scheme"`
	AddPrefixSpace *bool           `json:"add_prefix_space"`
	UseRegex       *bool           `json:"use_regex"`
	Split          *bool           `json:"split"`
	IndividualDigs bool            `json:"individual_digits"`
	Single         []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
	} `json:"single"`
}

// walk visits c and its nested components.
func (c *hfComponent) walk(f func(*hfComponent)) {
	if c == nil {
		return
	}
	f(c)
	for _, list := range [][]hfComponent{c.Normalizers, c.PreTokenizers, c.Decoders, c.Processors} {
		for i := range list {
			list[i].walk(f)
		}
	}
}

func (c *hfComponent) has(typ string) bool {
	found := false
	c.walk(func(x *hfComponent) { found = found || x.Type == typ })
	return found
}

// ConfigFromHF reads a Hugging Face tokenizer (tokenizer.json, and
// tokenizer_config.json when present for special tokens, add_bos/add_eos and the
// chat template) into a Config. Supported: BPE with a byte-level pre-tokenizer
// (Model "gpt2", Pre recognized from the pre-tokenizer: gpt-2, smollm, llama-bpe,
// qwen2) and SentencePiece-style BPE (Metaspace or Prepend/Replace normalizer,
// byte fallback), which becomes Model "llama" with the ranked merges kept, so it
// tokenizes plain text exactly as Hugging Face does. With parseSpecial, special
// tokens follow llama.cpp's rules (split from the raw text), not Hugging Face's
// matching of "normalized" added tokens after normalization.
func ConfigFromHF(dir string) (Config, error) {
	var hf hfTokenizer
	if err := readJSON(filepath.Join(dir, "tokenizer.json"), &hf); err != nil {
		return Config{}, err
	}
	if hf.Model.Type != "BPE" {
		return Config{}, fmt.Errorf("%w: model type %q (only BPE)", ErrHF, hf.Model.Type)
	}
	cfg := Config{BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1}
	merges, err := hfMerges(hf.Model.Merges)
	if err != nil {
		return Config{}, err
	}
	cfg.Merges = merges
	if err := hfVocab(&hf, &cfg); err != nil {
		return Config{}, err
	}
	if err := hfMode(&hf, &cfg); err != nil {
		return Config{}, err
	}
	if err := hfSpecials(dir, &hf, &cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return nil
}

// hfMerges accepts both merge encodings: "a b" strings and ["a", "b"] pairs.
func hfMerges(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		return strs, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("%w: merges are neither strings nor pairs: %w", ErrHF, err)
	}
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p[0] + " " + p[1]
	}
	return out, nil
}

// hfVocab lays out tokens by id (holes become unused "[PAD<id>]" tokens, as
// llama.cpp's converter writes them) and types the added tokens.
func hfVocab(hf *hfTokenizer, cfg *Config) error {
	n := int32(0)
	for _, id := range hf.Model.Vocab {
		n = max(n, id+1)
	}
	for _, a := range hf.AddedTokens {
		n = max(n, a.ID+1)
	}
	if n <= 0 || n > 1<<24 {
		return fmt.Errorf("%w: vocabulary size %d", ErrHF, n)
	}
	cfg.Tokens = make([]string, n)
	cfg.Types = make([]int32, n)
	for i := range cfg.Tokens {
		cfg.Tokens[i] = fmt.Sprintf("[PAD%d]", i)
		cfg.Types[i] = TypeUnused
	}
	for s, id := range hf.Model.Vocab {
		if id < 0 {
			return fmt.Errorf("%w: negative id %d for %q", ErrHF, id, s)
		}
		cfg.Tokens[id], cfg.Types[id] = s, TypeNormal
	}
	for _, a := range hf.AddedTokens {
		if a.ID < 0 {
			return fmt.Errorf("%w: negative id %d for added token %q", ErrHF, a.ID, a.Content)
		}
		cfg.Tokens[a.ID], cfg.Types[a.ID] = a.Content, TypeUserDefined
		if a.Special {
			cfg.Types[a.ID] = TypeControl
		}
	}
	return nil
}

// hfMode decides between byte-level BPE and SentencePiece-style BPE.
func hfMode(hf *hfTokenizer, cfg *Config) error {
	if hf.PreTok.has("ByteLevel") || hf.Decoder.has("ByteLevel") {
		cfg.Model = "gpt2"
		pre, err := hfPre(hf.PreTok)
		if err != nil {
			return err
		}
		cfg.Pre = pre
		return nil
	}
	spaceToMeta := hf.PreTok.has("Metaspace") || hfReplacesSpace(hf.Normalizer)
	if !spaceToMeta && !hf.Model.ByteFallback {
		return fmt.Errorf("%w: BPE without a byte-level or SentencePiece-style pre-tokenizer", ErrHF)
	}
	cfg.Model, cfg.UseMerges = "llama", true
	cfg.AddSpacePrefix, cfg.HasAddSpacePrefix = hfSpacePrefix(hf), true
	var bad error
	hf.PreTok.walk(func(c *hfComponent) {
		if c.Type == "Metaspace" && c.Split != nil && *c.Split {
			bad = fmt.Errorf("%w: Metaspace pre-tokenizer that splits words", ErrHF)
		}
	})
	if bad != nil {
		return bad
	}
	cfg.Scores = mergeScores(cfg.Tokens, cfg.Merges)
	for id, s := range cfg.Tokens {
		if isByteToken(s) && cfg.Types[id] == TypeNormal {
			cfg.Types[id] = TypeByte
		}
	}
	return nil
}

// mergeScores gives each token made by a merge the score -(rank+1), so earlier
// merges score higher; kvpack ranks by the merges themselves, the scores only
// describe the vocabulary as a SentencePiece one would.
func mergeScores(tokens, merges []string) []float32 {
	ids := make(map[string]int, len(tokens))
	for i, t := range tokens {
		ids[t] = i
	}
	scores := make([]float32, len(tokens))
	for i, m := range merges {
		if id, ok := ids[strings.Replace(m, " ", "", 1)]; ok && scores[id] == 0 {
			scores[id] = -float32(i + 1)
		}
	}
	return scores
}

func isByteToken(s string) bool {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return false
	}
	for _, c := range s[3:5] {
		if !strings.ContainsRune("0123456789ABCDEF", c) {
			return false
		}
	}
	return true
}

func hfReplacesSpace(n *hfComponent) bool {
	found := false
	n.walk(func(c *hfComponent) {
		if c.Type == "Replace" && c.Content == "▁" && hfPatternString(c.Pattern) == " " {
			found = true
		}
	})
	return found
}

// hfSpacePrefix: a Prepend("▁") normalizer or a Metaspace that prepends.
func hfSpacePrefix(hf *hfTokenizer) bool {
	prefix := false
	hf.Normalizer.walk(func(c *hfComponent) {
		prefix = prefix || (c.Type == "Prepend" && c.Prepend == "▁")
	})
	hf.PreTok.walk(func(c *hfComponent) {
		if c.Type == "Metaspace" {
			prefix = prefix || c.PrependScheme == "always" || c.PrependScheme == "first" ||
				(c.PrependScheme == "" && c.AddPrefixSpace != nil && *c.AddPrefixSpace)
		}
	})
	return prefix
}

// hfPatternString returns a pattern's {"String": s} value ("" for regexes).
func hfPatternString(raw json.RawMessage) string {
	var p struct {
		String string `json:"String"`
	}
	_ = json.Unmarshal(raw, &p) // a missing or regex pattern leaves ""
	return p.String
}

func hfPatternRegex(raw json.RawMessage) string {
	var p struct {
		Regex string `json:"Regex"`
	}
	_ = json.Unmarshal(raw, &p) // a missing or string pattern leaves ""
	return p.Regex
}
