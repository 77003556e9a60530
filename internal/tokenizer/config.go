package tokenizer

import (
	"errors"
	"fmt"
)

// Config is a vocabulary as GGUF metadata describes it (tokenizer.ggml.*); the
// model loader fills it, ConfigFromHF builds one from tokenizer.json.
type Config struct {
	Model  string    // tokenizer.ggml.model: "llama" (SentencePiece-style) or "gpt2" (byte-level BPE)
	Pre    string    // tokenizer.ggml.pre: "smollm", "qwen2", "llama-bpe", "gpt-2", "default", "" ...
	Tokens []string  // tokenizer.ggml.tokens
	Scores []float32 // tokenizer.ggml.scores (may be nil)
	Types  []int32   // tokenizer.ggml.token_type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); may be nil
	Merges []string  // tokenizer.ggml.merges ("a b"), for "gpt2" (and "llama" with UseMerges)
	// UseMerges makes a "llama" vocabulary Hugging Face's SentencePiece-style BPE:
	// Merges ranked by list order instead of Scores, with HF's byte fallback.
	// ConfigFromHF sets it; GGUF "llama" vocabularies never do (llama.cpp
	// ignores merges there).
	UseMerges bool

	// Special token ids, -1 when absent. Absent ids get llama.cpp's defaults
	// ("llama": BOS 1, EOS 2, UNK 0; "gpt2": BOS 11, EOS 11), as llama.cpp does.
	BOS, EOS, UNK, PAD, EOT int32

	// AddBOS/AddEOS are tokenizer.ggml.add_bos_token/add_eos_token; when the key is
	// absent (Has... false) llama.cpp's per-model defaults apply.
	AddBOS, AddEOS       bool
	HasAddBOS, HasAddEOS bool
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix (default: true for "llama").
	AddSpacePrefix, HasAddSpacePrefix bool
	ChatTemplate                      string // tokenizer.chat_template
}

// ErrConfig is wrapped by every error New returns.
var ErrConfig = errors.New("invalid tokenizer config")

// Token types of tokenizer.ggml.token_type.
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// preKind is a pre-tokenizer family (one list of splitting stages).
type preKind int

const (
	preNone    preKind = iota // SentencePiece: no pre-tokenizer
	preDefault                // llama.cpp's fallback for "" and "default"
	preGPT2
	preSmolLM
	preLlama3
	preQwen2
)

// preInfo is what llama.cpp derives from tokenizer.ggml.pre.
type preInfo struct {
	kind         preKind
	cleanSpaces  bool // detokenizer removes spaces before punctuation
	ignoreMerges bool // a word that is a token is not merged
	addBOS       bool // default for add_bos_token
}

// preTypes maps tokenizer.ggml.pre values to llama.cpp's settings for them
// (llama-vocab.cpp). "gpt2" is accepted as an alias of "gpt-2".
var preTypes = func() map[string]preInfo {
	m := map[string]preInfo{}
	set := func(info preInfo, names ...string) {
		for _, n := range names {
			m[n] = info
		}
	}
	set(preInfo{kind: preDefault, cleanSpaces: true}, "", "default")
	set(preInfo{kind: preLlama3, cleanSpaces: true, ignoreMerges: true, addBOS: true},
		"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano")
	set(preInfo{kind: preLlama3, cleanSpaces: true}, "dbrx", "smaug-bpe")
	set(preInfo{kind: preGPT2, cleanSpaces: true},
		"gpt2", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
		"a.x-4.0", "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais")
	set(preInfo{kind: preGPT2}, "trillion", "granite-docling")
	set(preInfo{kind: preSmolLM}, "smollm", "command-r")
	set(preInfo{kind: preSmolLM, cleanSpaces: true}, "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2")
	set(preInfo{kind: preQwen2}, "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2")
	set(preInfo{kind: preQwen2, cleanSpaces: true}, "megrez", "stablelm2")
	return m
}()

// settings are the resolved switches of a vocabulary.
type settings struct {
	spm            bool // "llama" model
	hfMerges       bool // "llama" with ranked merges (Hugging Face SentencePiece-style BPE)
	pre            preInfo
	addBOS, addEOS bool
	addSpacePrefix bool
}

func resolveSettings(cfg *Config) (settings, error) {
	var s settings
	switch cfg.Model {
	case "llama":
		if cfg.UseMerges && len(cfg.Merges) == 0 {
			return s, fmt.Errorf("%w: UseMerges without merges", ErrConfig)
		}
		s = settings{spm: true, hfMerges: cfg.UseMerges, addBOS: true, addSpacePrefix: true}
	case "gpt2":
		info, ok := preTypes[cfg.Pre]
		if !ok {
			return s, fmt.Errorf("%w: unknown pre-tokenizer type %q (tokenizer.ggml.pre)", ErrConfig, cfg.Pre)
		}
		if len(cfg.Merges) == 0 {
			return s, fmt.Errorf("%w: gpt2 vocabulary without merges", ErrConfig)
		}
		s = settings{pre: info, addBOS: info.addBOS}
	default:
		return s, fmt.Errorf("%w: unknown tokenizer model %q (tokenizer.ggml.model; want \"llama\" or \"gpt2\")", ErrConfig, cfg.Model)
	}
	if cfg.HasAddBOS {
		s.addBOS = cfg.AddBOS
	}
	if cfg.HasAddEOS {
		s.addEOS = cfg.AddEOS
	}
	if cfg.HasAddSpacePrefix {
		s.addSpacePrefix = cfg.AddSpacePrefix
	}
	return s, nil
}

// validate checks array lengths and special ids.
func validate(cfg *Config) error {
	n := len(cfg.Tokens)
	if n == 0 {
		return fmt.Errorf("%w: empty vocabulary", ErrConfig)
	}
	if n > 1<<30 {
		return fmt.Errorf("%w: vocabulary of %d tokens is too large", ErrConfig, n)
	}
	if cfg.Scores != nil && len(cfg.Scores) < n {
		return fmt.Errorf("%w: %d scores for %d tokens", ErrConfig, len(cfg.Scores), n)
	}
	if cfg.Types != nil && len(cfg.Types) < n {
		return fmt.Errorf("%w: %d token types for %d tokens", ErrConfig, len(cfg.Types), n)
	}
	ids := []struct {
		name string
		id   int32
	}{{"BOS", cfg.BOS}, {"EOS", cfg.EOS}, {"UNK", cfg.UNK}, {"PAD", cfg.PAD}, {"EOT", cfg.EOT}}
	for _, x := range ids {
		if x.id < -1 || int(x.id) >= n {
			return fmt.Errorf("%w: %s id %d out of range [0, %d)", ErrConfig, x.name, x.id, n)
		}
	}
	return nil
}

// defaultIDs applies llama.cpp's default special ids to absent ones.
func defaultIDs(cfg *Config) (bos, eos, unk int32) {
	bos, eos, unk = cfg.BOS, cfg.EOS, cfg.UNK
	def := func(v, d int32) int32 {
		if v < 0 && int(d) < len(cfg.Tokens) {
			return d
		}
		return v
	}
	switch cfg.Model {
	case "llama":
		return def(bos, 1), def(eos, 2), def(unk, 0)
	case "gpt2":
		return def(bos, 11), def(eos, 11), unk
	}
	return bos, eos, unk
}
