// Package safetensors reads Hugging Face safetensors files: an 8-byte
// little-endian header length, a JSON header mapping tensor names to dtype,
// shape and data offsets, then the raw tensor bytes.
//
// A File is memory-mapped; Tensor.Data aliases the mapping (read-only, valid
// until Close). Shapes are in PyTorch (row-major) order: for a 2-D weight,
// Shape[0] is the number of rows (output features) — the reverse of ggml's
// order used by package gguf.
package safetensors
