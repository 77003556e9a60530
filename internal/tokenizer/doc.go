// Package tokenizer turns text into token ids and back, for the vocabularies that
// GGUF files and Hugging Face tokenizer.json files carry: SentencePiece-style
// ("llama": score-driven merges over a byte-fallback vocab) and byte-level BPE
// ("gpt2": ranked merges with a pre-tokenizer regex chosen by tokenizer.ggml.pre).
// Results match llama.cpp's tokenizer token for token.
package tokenizer
