package gguf

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/kvpack/kvpack/internal/tensor"
)

// FuzzParse: any input either parses into a consistent File or fails with a
// named error; it never panics or allocates without bound. Parsed metadata
// must survive a write/read round trip.
func FuzzParse(f *testing.F) {
	f.Add(mustBytes(f, sampleWriter(f)))
	w := NewWriter()
	for _, v := range allValues {
		w.Set(v.key, v.val)
	}
	addRandomTensor(f, w, "q", tensor.Q4_K, 256, 2)
	f.Add(mustBytes(f, w))
	for _, c := range errorCases {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.gguf", data)
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		checkFuzzFile(t, file)
	})
}

func checkFuzzError(t *testing.T, err error) {
	if !strings.HasPrefix(err.Error(), "gguf: fuzz.gguf: ") {
		t.Fatalf("error does not name the file: %v", err)
	}
	for _, e := range []error{ErrNotGGUF, ErrUnsupported, ErrTruncated, ErrMalformed} {
		if errors.Is(err, e) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

func checkFuzzFile(t *testing.T, f *File) {
	w := NewWriter()
	for _, k := range f.Keys() {
		v, _ := f.Value(k)
		f.Uint(k)
		f.Int(k)
		f.Float(k)
		f.Float32s(k)
		f.Int32s(k)
		if k != keyAlignment {
			w.Set(k, v)
		}
	}
	for _, ti := range f.Tensors() {
		d, err := f.TensorData(ti.Name)
		if err != nil || uint64(len(d)) != ti.Size || ti.Offset%uint64(f.Alignment()) != 0 {
			t.Fatalf("%s: %d bytes, %v", ti.Name, len(d), err)
		}
	}
	out, err := w.Bytes()
	if err != nil {
		t.Fatalf("re-encoding parsed metadata: %v", err)
	}
	g, err := Parse("again.gguf", out)
	if err != nil {
		t.Fatalf("re-parsing: %v", err)
	}
	for _, k := range g.Keys() {
		a, _ := f.Value(k)
		b, _ := g.Value(k)
		ea, _ := appendValue(nil, a)
		eb, _ := appendValue(nil, b)
		if !bytes.Equal(ea, eb) {
			t.Fatalf("key %q changed in the round trip: %v -> %v", k, a, b)
		}
	}
}
