// Package tokenizer turns text into token ids and back, for the vocabularies that
// GGUF files and Hugging Face tokenizer.json files carry: SentencePiece-style
// ("llama": score-driven merges over a byte-fallback vocab) and byte-level BPE
// ("gpt2": ranked merges with a pre-tokenizer chosen by tokenizer.ggml.pre).
// Results match llama.cpp's tokenizer token for token.
//
// Where things are:
//
//	config.go          Config (GGUF tokenizer.ggml.* as the model loader fills it), validation,
//	                   llama.cpp's per-model defaults and tokenizer.ggml.pre table
//	tokenizer.go       New and the accessors (BOS, EOS, EOT, IsEOG, AddBOS, Token ...)
//	attrs.go           token attributes, EOT/FIM/EOG detection by token text (as llama.cpp)
//	special.go         splitting special tokens out of text before tokenization
//	encode.go          Encode; the per-tokenizer pool of scratch space and word cache
//	spm.go             SentencePiece bigram merging by score
//	bpe.go, heap.go    ranked merges (byte-level BPE and Hugging Face SentencePiece-BPE)
//	pretok*.go         pre-tokenizers (gpt-2, smollm, llama3, qwen2, default) as state machines
//	utf8.go, unicode.go, bytemap.go
//	                   llama.cpp's lenient UTF-8, codepoint classes, GPT-2's byte alphabet
//	decode.go, stream.go
//	                   Piece, TokenBytes, Decode (llama_detokenize), StreamDecoder
//	chat.go            ApplyChatTemplate (ChatML, with a template's default system message)
//	hf*.go             ConfigFromHF (tokenizer.json + tokenizer_config.json)
//
// Tests compare against llama.cpp through committed goldens
// (testdata/*.golden.json, made by testdata/tok_oracle.mjs with node-llama-cpp):
// KVPACK_ORACLE=1 go test asks llama.cpp live, KVPACK_ORACLE=update rewrites
// the goldens. testdata/*.hf-golden.json come from Hugging Face tokenizers
// (testdata/tok_hf_oracle.py; KVPACK_HF_ORACLE=update).
//
// Known departures from llama.cpp, all on inputs where llama.cpp aborts or is
// unspecified: a byte with no byte token encodes as UNK (llama.cpp throws);
// codepoints above U+10FFFF from malformed 4-byte sequences become U+FFFD
// (llama.cpp throws); when several tokens could be the EOT token, the lowest id
// wins (llama.cpp takes its hash map's first); special tokens of equal length
// are matched in id order; per-model attribute tweaks keyed on general.name
// (Phi-3's rstrip) are not applied.
package tokenizer
