package gguf

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kvpack/kvpack/internal/tensor"
)

func u32b(v uint32) []byte { return le.AppendUint32(nil, v) }

func u64b(v uint64) []byte { return le.AppendUint64(nil, v) }

// arrHdr encodes an array payload header.
func arrHdr(et valueType, n uint64) []byte { return append(u32b(uint32(et)), u64b(n)...) }

// nestedArray encodes depth levels of arrays of arrays around one u8 array.
func nestedArray(depth int) []byte {
	b := arrHdr(typeUint8, 0)
	for range depth {
		b = append(arrHdr(typeArray, 1), b...)
	}
	return b
}

// oneTensor is a file with a single tensor index entry and size bytes of data.
func oneTensor(entry []byte, size int) []byte {
	return padTo(rawFile(3, 1, 0, entry), 32, size)
}

var errorCases = []struct {
	name string
	data []byte
	want error
	msg  string // expected substring of the error
}{
	{"empty", nil, ErrNotGGUF, "gguf: x.gguf: not a GGUF file (file has only 0 bytes)"},
	{"bad magic", []byte("GGML\x03\x00\x00\x00"), ErrNotGGUF, `not a GGUF file (magic "GGML", want "GGUF")`},
	{"v1", rawFile(1, 0, 0), ErrUnsupported, "unsupported version 1"},
	{"v4", rawFile(4, 0, 0), ErrUnsupported, "unsupported version 4"},
	{"big endian", rawFile(3<<24, 0, 0), ErrUnsupported, "big-endian"},
	{"short header", rawFile(3, 0, 0)[:12], ErrTruncated, "header: truncated"},
	{"huge kv count", rawFile(3, 0, 1<<60), ErrMalformed, "claims 1152921504606846976 metadata keys"},
	{"huge tensor count", rawFile(3, 1<<60, 0), ErrMalformed, "claims 1152921504606846976 tensors"},
	{"huge key length", rawFile(3, 0, 1, u64b(1<<62), make([]byte, 8)), ErrTruncated, "metadata key 0 of 1: truncated"},
	{"bad value type", rawFile(3, 0, 1, kv("k", 13, []byte{0})), ErrMalformed, `key "k": malformed: unknown value type id 13`},
	{"bad array type", rawFile(3, 0, 1, kv("k", typeArray, arrHdr(99, 1))), ErrMalformed, "unknown element type id 99"},
	{"huge array", rawFile(3, 0, 1, kv("k", typeArray, arrHdr(typeUint32, 1<<62))), ErrMalformed, "array claims 4611686018427387904 elements of type u32"},
	{"huge string array", rawFile(3, 0, 1, kv("k", typeArray, arrHdr(typeString, 1<<40))), ErrMalformed, "elements of type string"},
	{"huge nested array", rawFile(3, 0, 1, kv("k", typeArray, arrHdr(typeArray, 1<<40))), ErrMalformed, "elements of type array"},
	{"string beyond EOF", rawFile(3, 0, 1, kv("k", typeString, u64b(100))), ErrTruncated, "need 100 bytes"},
	{"array string beyond EOF", rawFile(3, 0, 1, kv("k", typeArray, append(append(arrHdr(typeString, 2), u64b(50)...), u64b(0)...))), ErrTruncated, `key "k": truncated`},
	{"too deep", rawFile(3, 0, 1, kv("k", typeArray, nestedArray(20))), ErrMalformed, "nested deeper"},
	{"duplicate key", rawFile(3, 0, 2, kv("k", typeUint8, []byte{1}), kv("k", typeUint8, []byte{2})), ErrMalformed, `key "k": malformed: duplicate key`},
	{"alignment not power of two", rawFile(3, 0, 1, kv(keyAlignment, typeUint32, u32b(24))), ErrMalformed, "general.alignment: malformed: 24 (uint32)"},
	{"alignment zero", rawFile(3, 0, 1, kv(keyAlignment, typeUint32, u32b(0))), ErrMalformed, "not a power of two"},
	{"alignment string", rawFile(3, 0, 1, kv(keyAlignment, typeString, appendScalar(nil, "32"))), ErrMalformed, "not a power of two"},
	{"unsupported tensor type", oneTensor(tinfo("blk.0.attn_q.weight", 17, 0, 256, 2), 0), ErrUnsupported,
		`gguf: x.gguf: tensor "blk.0.attn_q.weight" has unsupported type IQ2_XS (id 17)`},
	{"unknown tensor type", oneTensor(tinfo("w", 200, 0, 4), 0), ErrUnsupported, "unsupported type ggml_type(200) (id 200)"},
	{"too many dims", oneTensor(tinfo("w", 0, 0, 1, 1, 1, 1, 1), 4), ErrMalformed, "has 5 dimensions"},
	{"row not whole blocks", oneTensor(tinfo("w", uint32(tensor.Q4_0), 0, 16, 2), 18), ErrMalformed, "row length 16 is not a multiple of the Q4_0 block size 32"},
	{"too many elements", oneTensor(tinfo("w", 0, 0, 1<<32, 1<<32), 0), ErrMalformed, "more than 2^63 elements"},
	{"size overflow", oneTensor(tinfo("w", 0, 0, 1<<31, 1<<31), 0), ErrMalformed, "shape [2147483648 2147483648] of type F32 overflows"},
	{"misaligned offset", oneTensor(tinfo("w", 0, 4, 4), 64), ErrMalformed, `tensor "w": malformed: data offset 4 is not a multiple of the alignment 32`},
	{"tensor beyond EOF", oneTensor(tinfo("token_embd.weight", 0, 0, 64, 2), 100), ErrTruncated,
		`gguf: x.gguf: truncated: tensor data of "token_embd.weight" ends at byte 608 but file has 196 bytes`},
	{"offset near 2^64", oneTensor(tinfo("w", 0, math.MaxUint64-31, 8), 32), ErrTruncated, "ends at byte 18446744073709551615"},
	{"overlap", padTo(rawFile(3, 2, 0, tinfo("a", 0, 0, 16), tinfo("b", 0, 32, 16)), 32, 96), ErrMalformed,
		`tensor data of "a" [0, 64) overlaps "b" [32, 96)`},
	{"duplicate tensor", padTo(rawFile(3, 2, 0, tinfo("a", 0, 0, 8), tinfo("a", 0, 32, 8)), 32, 64), ErrMalformed, `tensor "a": malformed: duplicate tensor name`},
	{"truncated tensor info", rawFile(3, 1, 0, tinfo("w", 0, 0, 8)[:30]), ErrTruncated, `tensor "w": truncated`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("x.gguf", tt.data)
			if err == nil {
				t.Fatalf("parsed: %d keys, %d tensors", len(f.Keys()), len(f.Tensors()))
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "gguf: x.gguf: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

// TestTruncatedEverywhere cuts a valid file at every byte before the end of
// its last tensor: each prefix must be rejected with a named error.
func TestTruncatedEverywhere(t *testing.T) {
	data := mustBytes(t, sampleWriter(t))
	f, err := Parse("full.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors()[len(f.Tensors())-1]
	end := int(f.DataOffset() + last.Offset + last.Size)
	for cut := range end {
		_, err := Parse("cut.gguf", data[:cut])
		switch {
		case err == nil:
			t.Fatalf("cut at %d of %d parsed", cut, end)
		case !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotGGUF):
			t.Fatalf("cut at %d: unexpected error kind: %v", cut, err)
		case !strings.HasPrefix(err.Error(), "gguf: cut.gguf: "):
			t.Fatalf("cut at %d: error does not name the file: %v", cut, err)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	tests := []struct {
		name  string
		typ   tensor.DType
		shape []uint64
		data  int
		msg   string
	}{
		{"", tensor.F32, []uint64{1}, 4, "must have 1 to 63 bytes"},
		{strings.Repeat("x", 64), tensor.F32, []uint64{1}, 4, "must have 1 to 63 bytes"},
		{"dup", tensor.F32, []uint64{1}, 4, `duplicate tensor "dup"`},
		{"iq", tensor.DType(16), []uint64{256}, 0, "unsupported type IQ2_XXS"},
		{"noshape", tensor.F32, nil, 4, "1 to 4 dimensions"},
		{"5d", tensor.F32, []uint64{1, 1, 1, 1, 1}, 4, "1 to 4 dimensions"},
		{"partial block", tensor.Q8_0, []uint64{16}, 17, "not a multiple of the Q8_0 block size"},
		{"wrong size", tensor.Q8_0, []uint64{64, 2}, 100, "Q8_0 [64 2] needs 136 bytes, got 100"},
	}
	w := NewWriter()
	if err := w.AddTensor("dup", tensor.F32, []uint64{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		err := w.AddTensor(tt.name, tt.typ, tt.shape, make([]byte, tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("AddTensor(%q): %v, want %q", tt.name, err, tt.msg)
		}
	}
}

func TestWriterBadValues(t *testing.T) {
	tests := []struct {
		name string
		set  func(w *Writer)
		msg  string
	}{
		{"int", func(w *Writer) { w.Set("n", 5) }, `key "n": unsupported Go type int`},
		{"map", func(w *Writer) { w.Set("m", map[string]int{}) }, "unsupported Go type map"},
		{"nested scalar", func(w *Writer) { w.Set("a", []any{uint8(1)}) }, "element 0: unsupported Go type uint8"},
		{"alignment 3", func(w *Writer) { w.SetAlignment(3) }, "alignment 3 is not a power of two"},
		{"alignment as int32", func(w *Writer) { w.Set(keyAlignment, int32(32)) }, "is not a u32 power of two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter()
			tt.set(w)
			_, err := w.Bytes()
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want %q", err, tt.msg)
			}
		})
	}
}
