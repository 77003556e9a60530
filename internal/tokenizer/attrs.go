package tokenizer

import (
	"slices"
	"strings"
)

// Token attributes (llama_token_attr bits).
const (
	attrUnknown     uint16 = 1 << 0
	attrUnused      uint16 = 1 << 1
	attrNormal      uint16 = 1 << 2
	attrControl     uint16 = 1 << 3
	attrUserDefined uint16 = 1 << 4
	attrByte        uint16 = 1 << 5
)

func attrFromType(t int32) uint16 {
	switch t {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	}
	return 0
}

// Token texts llama.cpp recognizes when GGUF metadata does not name the token.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	fimTexts = [][]string{
		{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"},
		{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"},
		{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"},
	}
	// FIM pad, repo and file-separator tokens also end generation.
	fimEOGTexts = [][]string{
		{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
		{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
		{"<|file_sep|>"},
	}
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
		"[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~["}
	alwaysRendered = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

// findText returns the id of the first-numbered token among texts, or -1. llama.cpp
// takes whichever its hash map yields first; kvpack takes the lowest id.
func (t *Tokenizer) findText(texts []string) int32 {
	best := int32(-1)
	for _, s := range texts {
		if id, ok := t.tokID[s]; ok && (best < 0 || id < best) {
			best = id
		}
	}
	return best
}

func (t *Tokenizer) markControl(id int32) {
	if id >= 0 {
		t.attrs[id] |= attrControl
	}
}

// detectSpecial reproduces llama.cpp's text-based detection of EOT/EOM/FIM tokens,
// the "unused" control tokens and the end-of-generation set, with the attribute
// overrides that come with them.
func (t *Tokenizer) detectSpecial() {
	if t.eot < 0 {
		t.eot = t.findText(eotTexts)
		t.markControl(t.eot)
	}
	eom := t.findText([]string{"<|eom_id|>"})
	t.markControl(eom)
	for _, texts := range fimTexts {
		t.markControl(t.findText(texts))
	}
	t.eog = map[int32]bool{}
	for _, texts := range fimEOGTexts {
		if id := t.findText(texts); id >= 0 {
			t.markControl(id)
			t.eog[id] = true
		}
	}
	t.markUnused()
	for _, s := range eogTexts {
		if id, ok := t.tokID[s]; ok {
			t.eog[id] = true
			t.markControl(id)
		}
	}
	for _, s := range alwaysRendered {
		if id, ok := t.tokID[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, eom} {
		if id >= 0 {
			t.eog[id] = true
		}
	}
	t.pruneEOG()
}

// markUnused flags control tokens whose text contains "unused".
func (t *Tokenizer) markUnused() {
	for s, id := range t.tokID {
		if t.attrs[id]&attrControl != 0 && strings.Contains(s, "unused") {
			t.attrs[id] |= attrUnused
		}
	}
}

// pruneEOG applies llama.cpp's two exceptions: "<|end|>" is not EOG next to
// "<|return|>"/"<|call|>" (gpt-oss) or "<|calls|>"/"<|flush|>" (solar-open), and
// "</s>" is not EOG next to "<|tool_response>" (gemma4).
func (t *Tokenizer) pruneEOG() {
	has := map[string]int32{}
	for id := range t.eog {
		has[t.tokens[id]] = id
	}
	_, ret := has["<|return|>"]
	_, call := has["<|call|>"]
	_, calls := has["<|calls|>"]
	_, flush := has["<|flush|>"]
	if end, ok := has["<|end|>"]; ok && ((ret && (call || calls)) || ((call || calls) && flush)) {
		delete(t.eog, end)
		t.attrs[end] = attrUserDefined
	}
	if s, ok := has["</s>"]; ok {
		if _, tool := has["<|tool_response>"]; tool {
			delete(t.eog, s)
			t.attrs[s] = attrNormal
		}
	}
}

// buildSpecialList lists the tokens that are split out of text before
// tokenization (control, user-defined and unknown ones), longest text first.
// llama.cpp's std::sort leaves equal lengths unordered; kvpack orders them by id.
func (t *Tokenizer) buildSpecialList() {
	t.special = t.special[:0]
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.special = append(t.special, int32(id))
		}
	}
	slices.SortStableFunc(t.special, func(a, b int32) int {
		return len(t.tokens[b]) - len(t.tokens[a])
	})
}
