package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Split regexes of Hugging Face tokenizer.json files, as the files spell them.
const (
	hfRegexLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	hfRegexQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// hfPre names the llama.cpp pre-tokenizer equivalent to a byte-level
// pre_tokenizer: ByteLevel alone (gpt-2), individual Digits + ByteLevel (smollm),
// or a Split on the Llama 3 / Qwen2 regex + ByteLevel without its own regex.
func hfPre(p *hfComponent) (string, error) {
	if p == nil {
		return "", fmt.Errorf("%w: byte-level BPE without a pre_tokenizer", ErrHF)
	}
	steps := []hfComponent{*p}
	if p.Type == "Sequence" {
		steps = p.PreTokenizers
	}
	last := steps[len(steps)-1]
	if last.Type != "ByteLevel" {
		return "", hfUnsupportedPre(p)
	}
	if last.AddPrefixSpace != nil && *last.AddPrefixSpace {
		return "", fmt.Errorf("%w: ByteLevel with add_prefix_space", ErrHF)
	}
	ownRegex := last.UseRegex == nil || *last.UseRegex
	switch {
	case len(steps) == 1 && ownRegex:
		return "gpt-2", nil
	case len(steps) == 2 && ownRegex && steps[0].Type == "Digits" && steps[0].IndividualDigs:
		return "smollm", nil
	case len(steps) == 2 && !ownRegex && steps[0].Type == "Split":
		switch hfPatternRegex(steps[0].Pattern) {
		case hfRegexLlama3:
			return "llama-bpe", nil
		case hfRegexQwen2:
			return "qwen2", nil
		}
	}
	return "", hfUnsupportedPre(p)
}

func hfUnsupportedPre(p *hfComponent) error {
	desc, _ := json.Marshal(p)
	return fmt.Errorf("%w: pre_tokenizer %s", ErrHF, head(string(desc), 300))
}

// hfTokenizerConfig is the part of tokenizer_config.json used here.
type hfTokenizerConfig struct {
	AddBOS       *bool           `json:"add_bos_token"`
	AddEOS       *bool           `json:"add_eos_token"`
	BOS          json.RawMessage `json:"bos_token"`
	EOS          json.RawMessage `json:"eos_token"`
	UNK          json.RawMessage `json:"unk_token"`
	PAD          json.RawMessage `json:"pad_token"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// hfSpecials fills special ids, add_bos/add_eos and the chat template.
func hfSpecials(dir string, hf *hfTokenizer, cfg *Config) error {
	var tc hfTokenizerConfig
	if err := readJSON(filepath.Join(dir, "tokenizer_config.json"), &tc); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ids := make(map[string]int32, len(cfg.Tokens))
	for i, s := range cfg.Tokens {
		ids[s] = int32(i)
	}
	find := func(raw json.RawMessage) int32 {
		if id, ok := ids[hfTokenText(raw)]; ok {
			return id
		}
		return -1
	}
	cfg.BOS, cfg.EOS, cfg.UNK, cfg.PAD = find(tc.BOS), find(tc.EOS), find(tc.UNK), find(tc.PAD)
	if cfg.UNK < 0 && hf.Model.UnkToken != nil {
		if id, ok := ids[*hf.Model.UnkToken]; ok {
			cfg.UNK = id
		}
	}
	if cfg.UNK >= 0 {
		cfg.Types[cfg.UNK] = TypeUnknown
	}
	addBOS, addEOS := hfPostProcessorAdds(hf.PostProc, cfg)
	cfg.AddBOS, cfg.AddEOS, cfg.HasAddBOS, cfg.HasAddEOS = addBOS, addEOS, true, true
	if tc.AddBOS != nil {
		cfg.AddBOS = *tc.AddBOS && cfg.BOS >= 0
	}
	if tc.AddEOS != nil {
		cfg.AddEOS = *tc.AddEOS && cfg.EOS >= 0
	}
	tpl, err := hfChatTemplate(dir, tc.ChatTemplate)
	cfg.ChatTemplate = tpl
	return err
}

// hfTokenText reads a special token given as "text" or {"content": "text"}.
func hfTokenText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Content
	}
	return ""
}

// hfPostProcessorAdds reports whether a TemplateProcessing post-processor wraps a
// single sequence in BOS and/or EOS.
func hfPostProcessorAdds(p *hfComponent, cfg *Config) (bos, eos bool) {
	p.walk(func(c *hfComponent) {
		if c.Type != "TemplateProcessing" || len(c.Single) == 0 {
			return
		}
		first, last := c.Single[0].SpecialToken, c.Single[len(c.Single)-1].SpecialToken
		if first != nil && cfg.BOS >= 0 && first.ID == cfg.Tokens[cfg.BOS] {
			bos = true
		}
		if last != nil && cfg.EOS >= 0 && last.ID == cfg.Tokens[cfg.EOS] {
			eos = true
		}
	})
	return bos, eos
}

// hfChatTemplate reads chat_template (a string, or a list of named templates of
// which "default" is taken), else chat_template.jinja beside the tokenizer.
func hfChatTemplate(dir string, raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s, nil
	}
	var named []struct{ Name, Template string }
	if json.Unmarshal(raw, &named) == nil {
		for _, n := range named {
			if n.Name == "default" {
				return n.Template, nil
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("tokenizer: %w", err)
	}
	return string(data), nil
}
