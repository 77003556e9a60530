package tokenizer

import (
	"fmt"
	"sync"
)

// Tokenizer encodes text to token ids and back. It is immutable after New and
// safe for concurrent use.
type Tokenizer struct {
	set    settings
	tokens []string  // token texts (empty ones renamed "[EMPTY_<id>]" as llama.cpp does)
	scores []float32 // SentencePiece scores
	attrs  []uint16  // llama_token_attr bits
	tokID  map[string]int32

	bos, eos, unk, pad, eot int32
	eog                     map[int32]bool

	special   []int32      // split out of text first, longest first
	specIndex specialIndex // finds the special tokens that occur in a text
	pieces    []string     // piece of every token rendered with special=true
	byteTok   [256]int32   // SentencePiece byte fallback (-1: none)
	bpe       *bpeModel    // ranked merges (gpt2, and llama with merges)
	stages    []preStage
	template  string
	scratch   sync.Pool // *scratch, with a per-tokenizer word cache
}

// New validates cfg and builds a tokenizer.
func New(cfg Config) (*Tokenizer, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	set, err := resolveSettings(&cfg)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{set: set, template: cfg.ChatTemplate, pad: cfg.PAD, eot: cfg.EOT}
	t.bos, t.eos, t.unk = defaultIDs(&cfg)
	t.loadTokens(&cfg)
	if set.spm {
		t.initByteFallback()
	}
	if !set.spm || set.hfMerges {
		if t.bpe, err = newBPEModel(t, cfg.Merges, !set.spm); err != nil {
			return nil, err
		}
	}
	if !set.spm {
		t.stages = preStages[set.pre.kind]
	}
	if set.addBOS && t.bos < 0 {
		return nil, fmt.Errorf("%w: add_bos_token is set but the vocabulary has no BOS token", ErrConfig)
	}
	if set.addEOS && t.eos < 0 {
		return nil, fmt.Errorf("%w: add_eos_token is set but the vocabulary has no EOS token", ErrConfig)
	}
	t.detectSpecial()
	t.buildSpecialList()
	t.specIndex = newSpecialIndex(t)
	t.buildPieces()
	return t, nil
}

func (t *Tokenizer) loadTokens(cfg *Config) {
	n := len(cfg.Tokens)
	t.tokens = make([]string, n)
	t.attrs = make([]uint16, n)
	t.scores = make([]float32, n)
	t.tokID = make(map[string]int32, n)
	for i, s := range cfg.Tokens {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i)
		}
		t.tokens[i] = s
		t.tokID[s] = int32(i) // the last duplicate wins, as in llama.cpp
		t.attrs[i] = attrNormal
		if cfg.Types != nil {
			t.attrs[i] = attrFromType(cfg.Types[i])
		}
		if cfg.Scores != nil {
			t.scores[i] = cfg.Scores[i]
		}
	}
}

// initByteFallback maps each byte to "<0xXX>", else to the one-byte token.
func (t *Tokenizer) initByteFallback() {
	const hex = "0123456789ABCDEF"
	for b := 0; b < 256; b++ {
		t.byteTok[b] = -1
		if id, ok := t.tokID[string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})]; ok {
			t.byteTok[b] = id
		} else if id, ok := t.tokID[string([]byte{byte(b)})]; ok {
			t.byteTok[b] = id
		}
	}
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS is the beginning-of-sequence token (-1: none).
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS is the end-of-sequence token (-1: none).
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT is the end-of-turn token (-1: none): tokenizer.ggml.eot_token_id, else the
// lowest-numbered token with a text llama.cpp treats as end of turn.
func (t *Tokenizer) EOT() int32 { return t.eot }

// UNK is the unknown token (-1: none).
func (t *Tokenizer) UNK() int32 { return t.unk }

// PAD is the padding token (-1: none).
func (t *Tokenizer) PAD() int32 { return t.pad }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.set.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.set.addEOS }

// IsEOG reports whether id ends generation: EOS, EOT and the tokens llama.cpp
// recognizes by text (<|im_end|>, <|endoftext|>, </s>, FIM pad/repo/separator...).
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// EOGTokens lists the end-of-generation tokens in id order.
func (t *Tokenizer) EOGTokens() []int32 {
	out := make([]int32, 0, len(t.eog))
	for id := range int32(len(t.tokens)) {
		if t.eog[id] {
			out = append(out, id)
		}
	}
	return out
}

// Token is the vocabulary text of id ("" when out of range).
func (t *Tokenizer) Token(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// IsControl reports whether id is a control token (rendered only on request).
func (t *Tokenizer) IsControl(id int32) bool {
	return t.valid(id) && t.attrs[id]&attrControl != 0
}

// ChatTemplate is the vocabulary's chat template text.
func (t *Tokenizer) ChatTemplate() string { return t.template }

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }
