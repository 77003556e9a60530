package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kvpack/kvpack/internal/tensor"
)

// allValues has one value of every scalar type and every array kind.
var allValues = []struct {
	key string
	val any
}{
	{"u8", uint8(200)},
	{"i8", int8(-100)},
	{"u16", uint16(60000)},
	{"i16", int16(-30000)},
	{"u32", uint32(4000000000)},
	{"i32", int32(-2000000000)},
	{"f32", float32(1.5e-5)},
	{"bool.true", true},
	{"bool.false", false},
	{"string", "héllo wörld"},
	{"string.empty", ""},
	{"u64", uint64(math.MaxUint64)},
	{"i64", int64(math.MinInt64)},
	{"f64", math.Inf(-1)},
	{"arr.u8", []uint8{0, 1, 255}},
	{"arr.i8", []int8{-128, 0, 127}},
	{"arr.u16", []uint16{0, 65535}},
	{"arr.i16", []int16{-32768, 32767}},
	{"arr.u32", []uint32{0, math.MaxUint32}},
	{"arr.i32", []int32{math.MinInt32, -1, math.MaxInt32}},
	{"arr.f32", []float32{0, -1.25, float32(math.Inf(1))}},
	{"arr.bool", []bool{true, false, true}},
	{"arr.string", []string{"", "a", "Ġthe", "<0x0A>"}},
	{"arr.u64", []uint64{0, math.MaxUint64}},
	{"arr.i64", []int64{math.MinInt64, math.MaxInt64}},
	{"arr.f64", []float64{math.Pi, -0.5}},
	{"arr.empty.u32", []uint32{}},
	{"arr.empty.string", []string{}},
	{"arr.nested", []any{[]int32{1, 2}, []string{"x", "y"}, []any{[]float64{1}, []bool{}}}},
	{"arr.nested.empty", []any{}},
}

func TestRoundTripValues(t *testing.T) {
	w := NewWriter()
	for _, v := range allValues {
		w.Set(v.key, v.val)
	}
	f, err := Parse("values.gguf", mustBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version() != 3 || f.Alignment() != 32 || len(f.Tensors()) != 0 {
		t.Errorf("version %d alignment %d tensors %d", f.Version(), f.Alignment(), len(f.Tensors()))
	}
	var keys []string
	for _, v := range allValues {
		keys = append(keys, v.key)
		got, ok := f.Value(v.key)
		if !ok || !reflect.DeepEqual(got, v.val) {
			t.Errorf("%s: got %#v (%v), want %#v", v.key, got, ok, v.val)
		}
	}
	if !reflect.DeepEqual(f.Keys(), keys) {
		t.Errorf("keys %v, want %v", f.Keys(), keys)
	}
}

func TestSetReplacesKeepingOrder(t *testing.T) {
	w := NewWriter()
	w.Set("a", uint32(1))
	w.Set("b", "x")
	w.Set("a", "replaced")
	f, err := Parse("r.gguf", mustBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Keys(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("keys %v", got)
	}
	if s, _ := f.String("a"); s != "replaced" {
		t.Errorf("a = %q", s)
	}
}

func TestRoundTripTensorTypes(t *testing.T) {
	for _, align := range []int{1, 8, 32, 64, 4096} {
		t.Run(fmt.Sprintf("align%d", align), func(t *testing.T) {
			w := NewWriter()
			w.SetAlignment(align)
			want := map[string][]byte{}
			for _, typ := range knownTypes() {
				name := "t." + typ.String()
				want[name] = addRandomTensor(t, w, name, typ, uint64(2*typ.BlockSize()), 3)
			}
			want["vec"] = addRandomTensor(t, w, "vec", tensor.F32, 5)
			want["4d"] = addRandomTensor(t, w, "4d", tensor.F16, 2, 3, 1, 2)
			checkTensors(t, mustBytes(t, w), align, want)
		})
	}
}

func checkTensors(t *testing.T, data []byte, align int, want map[string][]byte) {
	t.Helper()
	f, err := Parse("types.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment() != align || f.DataOffset()%uint64(align) != 0 {
		t.Errorf("alignment %d, data offset %d", f.Alignment(), f.DataOffset())
	}
	if len(f.Tensors()) != len(want) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors()), len(want))
	}
	for _, ti := range f.Tensors() {
		got, err := f.TensorData(ti.Name)
		if err != nil || !bytes.Equal(got, want[ti.Name]) || uint64(len(got)) != ti.Size {
			t.Errorf("%s: data mismatch (%v)", ti.Name, err)
		}
		if ti.Offset%uint64(align) != 0 {
			t.Errorf("%s: offset %d not aligned", ti.Name, ti.Offset)
		}
		if ti2, ok := f.Tensor(ti.Name); !ok || !reflect.DeepEqual(ti, ti2) {
			t.Errorf("%s: Tensor lookup %v %v", ti.Name, ti2, ok)
		}
		if uint64(ti.Type.RowBytes(int(ti.Shape[0])))*ti.Elements()/ti.Shape[0] != ti.Size {
			t.Errorf("%s: size %d inconsistent with %v %s", ti.Name, ti.Size, ti.Shape, ti.Type)
		}
	}
}

func TestOpenAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	w := sampleWriter(t)
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != path {
		t.Errorf("path %q", f.Path())
	}
	if arch, _ := f.String("general.architecture"); arch != "llama" {
		t.Errorf("architecture %q", arch)
	}
	d, err := f.TensorData("output_norm.weight")
	if err != nil || len(d) != 16 {
		t.Fatalf("TensorData: %d bytes, %v", len(d), err)
	}
	if _, err := f.TensorData("missing"); err == nil {
		t.Error("TensorData(missing) succeeded")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := f.TensorData("output_norm.weight"); err == nil {
		t.Error("TensorData after Close succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "nope.gguf")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
	empty := filepath.Join(dir, "empty.gguf")
	if err := writeFile(empty, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty); !errors.Is(err, ErrNotGGUF) {
		t.Errorf("Open of an empty file: %v", err)
	}
	bare := filepath.Join(dir, "bare.gguf")
	if err := NewWriter().WriteFile(bare); err != nil {
		t.Fatal(err)
	}
	f, err := Open(bare)
	if err != nil {
		t.Fatalf("Open of a file without keys or tensors: %v", err)
	}
	if len(f.Keys()) != 0 || len(f.Tensors()) != 0 {
		t.Errorf("keys %v tensors %v", f.Keys(), f.Tensors())
	}
	_ = f.Close()
}
