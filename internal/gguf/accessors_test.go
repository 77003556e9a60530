package gguf

import (
	"math"
	"os"
	"reflect"
	"testing"
)

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }

// accessorCase calls one typed accessor; want nil means ok must be false.
type accessorCase struct {
	name string
	get  func() (any, bool)
	want any
}

func accessorCases(f *File) []accessorCase {
	return []accessorCase{
		{"Uint u8", func() (any, bool) { return f.Uint("u8") }, uint64(200)},
		{"Uint u64", func() (any, bool) { return f.Uint("u64") }, uint64(math.MaxUint64)},
		{"Uint negative", func() (any, bool) { return f.Uint("i8") }, nil},
		{"Uint string", func() (any, bool) { return f.Uint("string") }, nil},
		{"Uint missing", func() (any, bool) { return f.Uint("missing") }, nil},
		{"Int i64", func() (any, bool) { return f.Int("i64") }, int64(math.MinInt64)},
		{"Int u32", func() (any, bool) { return f.Int("u32") }, int64(4000000000)},
		{"Int u64 too big", func() (any, bool) { return f.Int("u64") }, nil},
		{"Int float", func() (any, bool) { return f.Int("f32") }, nil},
		{"Float f32", func() (any, bool) { return f.Float("f32") }, float64(float32(1.5e-5))},
		{"Float f64", func() (any, bool) { return f.Float("f64") }, math.Inf(-1)},
		{"Float int", func() (any, bool) { return f.Float("i16") }, float64(-30000)},
		{"Float u64", func() (any, bool) { return f.Float("u64") }, float64(math.MaxUint64)},
		{"Float bool", func() (any, bool) { return f.Float("bool.true") }, nil},
		{"Bool", func() (any, bool) { return f.Bool("bool.true") }, true},
		{"Bool u8", func() (any, bool) { return f.Bool("u8") }, nil},
		{"String", func() (any, bool) { return f.String("string") }, "héllo wörld"},
		{"String array", func() (any, bool) { return f.String("arr.string") }, nil},
		{"Strings", func() (any, bool) { return f.Strings("arr.string") }, []string{"", "a", "Ġthe", "<0x0A>"}},
		{"Strings u8s", func() (any, bool) { return f.Strings("arr.u8") }, nil},
		{"Float32s f32", func() (any, bool) { return f.Float32s("arr.f32") }, []float32{0, -1.25, float32(math.Inf(1))}},
		{"Float32s f64", func() (any, bool) { return f.Float32s("arr.f64") }, []float32{math.Pi, -0.5}},
		{"Float32s i8", func() (any, bool) { return f.Float32s("arr.i8") }, []float32{-128, 0, 127}},
		{"Float32s u64", func() (any, bool) { return f.Float32s("arr.u64") }, []float32{0, math.MaxUint64}},
		{"Float32s bool", func() (any, bool) { return f.Float32s("arr.bool") }, nil},
		{"Float32s scalar", func() (any, bool) { return f.Float32s("f32") }, nil},
		{"Int32s i32", func() (any, bool) { return f.Int32s("arr.i32") }, []int32{math.MinInt32, -1, math.MaxInt32}},
		{"Int32s u16", func() (any, bool) { return f.Int32s("arr.u16") }, []int32{0, 65535}},
		{"Int32s empty", func() (any, bool) { return f.Int32s("arr.empty.u32") }, []int32{}},
		{"Int32s u32 out of range", func() (any, bool) { return f.Int32s("arr.u32") }, nil},
		{"Int32s i64 out of range", func() (any, bool) { return f.Int32s("arr.i64") }, nil},
		{"Int32s u64 out of range", func() (any, bool) { return f.Int32s("arr.u64") }, nil},
		{"Int32s floats", func() (any, bool) { return f.Int32s("arr.f32") }, nil},
		{"Int32s nested", func() (any, bool) { return f.Int32s("arr.nested") }, nil},
	}
}

func TestAccessors(t *testing.T) {
	w := NewWriter()
	for _, v := range allValues {
		w.Set(v.key, v.val)
	}
	f, err := Parse("acc.gguf", mustBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range accessorCases(f) {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.get()
			if tt.want == nil {
				if ok {
					t.Errorf("got %#v, want ok=false", got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v (ok=%v), want %#v", got, ok, tt.want)
			}
		})
	}
}

func TestInt32sSmallU64(t *testing.T) {
	w := NewWriter()
	w.Set("a", []uint64{1, 2})
	f, err := Parse("a.gguf", mustBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := f.Int32s("a"); !ok || !reflect.DeepEqual(got, []int32{1, 2}) {
		t.Errorf("got %v %v", got, ok)
	}
}
