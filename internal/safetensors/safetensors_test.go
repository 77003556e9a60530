package safetensors

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// build encodes a safetensors file from a JSON header and a data buffer.
func build(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func f32bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

const goodHeader = `{"__metadata__":{"format":"pt"},` +
	`"b":{"dtype":"F16","shape":[2],"data_offsets":[24,28]},` +
	`"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},` +
	`"c":{"dtype":"BF16","shape":[],"data_offsets":[28,30]},` +
	`"i":{"dtype":"I64","shape":[1],"data_offsets":[32,40]}}  `

func goodFile() []byte {
	data := f32bytes(1, 2, 3, 4, 5, 6)
	data = append(data, 0x00, 0x3c, 0x00, 0xc0) // F16 1, -2
	data = append(data, 0x40, 0x40, 0, 0)       // BF16 3 and padding
	data = binary.LittleEndian.AppendUint64(data, 7)
	return build(goodHeader, data)
}

func TestParseGood(t *testing.T) {
	f, err := Parse("good.safetensors", goodFile())
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !reflect.DeepEqual(got, []string{"a", "b", "c", "i"}) {
		t.Errorf("names %v", got)
	}
	if md := f.Metadata(); md["format"] != "pt" {
		t.Errorf("metadata %v", md)
	}
	tests := []struct {
		name  string
		dtype string
		shape []int
		want  []float32 // nil: Float32s must fail
	}{
		{"a", "F32", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
		{"b", "F16", []int{2}, []float32{1, -2}},
		{"c", "BF16", []int{}, []float32{3}},
		{"i", "I64", []int{1}, nil},
	}
	for _, tt := range tests {
		tn, ok := f.Tensor(tt.name)
		if !ok || tn.DType != tt.dtype || !reflect.DeepEqual(tn.Shape, tt.shape) || tn.Name != tt.name {
			t.Errorf("%s: %+v %v", tt.name, tn, ok)
		}
		got, err := tn.Float32s()
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: Float32s succeeded", tt.name)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Float32s %v, %v", tt.name, got, err)
		}
	}
	if _, ok := f.Tensor("__metadata__"); ok {
		t.Error("__metadata__ is listed as a tensor")
	}
}

func TestParseErrors(t *testing.T) {
	entry := func(e string) []byte { return build(`{"t":`+e+`}`, make([]byte, 16)) }
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "file has 0 bytes"},
		{"short", []byte{1, 2, 3}, "file has 3 bytes"},
		{"header beyond EOF", build("{}", nil)[:9], "header length 2 exceeds the file (9 bytes)"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<63), "header length 9223372036854775808"},
		{"not an object", build(`[1,2]`, nil), "header is not a JSON object"},
		{"blank header", build(`   `, nil), "header is not a JSON object"},
		{"bad json", build(`{"a":`, nil), "header JSON"},
		{"entry not object", entry(`3`), `tensor "t"`},
		{"missing dtype", entry(`{"shape":[1],"data_offsets":[0,4]}`), "needs dtype, shape and data_offsets"},
		{"null shape", entry(`{"dtype":"F32","shape":null,"data_offsets":[0,4]}`), "needs dtype, shape and data_offsets"},
		{"unknown dtype", entry(`{"dtype":"F4","shape":[1],"data_offsets":[0,1]}`), `unsupported dtype "F4"`},
		{"negative dim", entry(`{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}`), "negative dimension"},
		{"float dim", entry(`{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}`), `tensor "t"`},
		{"huge shape", entry(`{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,4]}`), "too large"},
		{"one offset", entry(`{"dtype":"F32","shape":[1],"data_offsets":[0]}`), "not a range"},
		{"reversed offsets", entry(`{"dtype":"F32","shape":[0],"data_offsets":[8,4]}`), "not a range"},
		{"negative offset", entry(`{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}`), `tensor "t"`},
		{"beyond EOF", entry(`{"dtype":"F32","shape":[8],"data_offsets":[0,32]}`), "not a range inside the 16-byte data buffer"},
		{"size mismatch", entry(`{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}`), "hold 12 bytes but F32 [2 2] needs 16"},
		{"bad metadata", build(`{"__metadata__":{"a":1}}`, nil), "__metadata__ must map strings to strings"},
		{"overlap", build(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
			`"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), `data of "x" [0, 8) overlaps "y" [4, 12)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.safetensors", tt.data)
			if err == nil {
				t.Fatal("parsed")
			}
			if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "safetensors: bad.safetensors: ") ||
				!strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want ErrFormat containing %q", err, tt.msg)
			}
		})
	}
}

func TestHalfToFloat32(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x7bff, 65504},
		{0x0001, 1.0 / (1 << 24)}, {0x03ff, 1023.0 / (1 << 24)}, {0x0400, 1.0 / (1 << 14)},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := halfToFloat32(tt.h); got != tt.want {
			t.Errorf("%#04x: got %g, want %g", tt.h, got, tt.want)
		}
	}
	if got := halfToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("negative zero: %g", got)
	}
	if got := halfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("NaN: %g", got)
	}
}

func TestOpenClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := os.WriteFile(path, goodFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := f.Tensor("a"); !ok || len(a.Data) != 24 || f.Path() != path {
		t.Errorf("tensor a: %+v", a)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Tensor("a"); ok {
		t.Error("Tensor after Close succeeded")
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
	empty := filepath.Join(dir, "empty.safetensors")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty); !errors.Is(err, ErrFormat) {
		t.Errorf("Open of an empty file: %v", err)
	}
}
