// Package gguf reads and writes GGUF model containers (versions 2 and 3).
//
// A File is memory-mapped: tensor data slices alias the mapping and are valid
// until Close. Metadata is decoded eagerly; every value type of the spec
// (u8..u64, i8..i64, f32, f64, bool, string, arrays of any of these, nested
// arrays) is supported. All parse errors name the file and the problem.
package gguf
