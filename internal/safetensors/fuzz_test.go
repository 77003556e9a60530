package safetensors

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: any input parses into consistent tensors or fails with a named
// ErrFormat error; it never panics.
func FuzzParse(f *testing.F) {
	f.Add(goodFile())
	f.Add(build(`{"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}`, []byte{1, 2, 3}))
	f.Add(build(`{}`, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.safetensors", data)
		if err != nil {
			if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "safetensors: fuzz.safetensors: ") {
				t.Fatalf("bad error: %v", err)
			}
			return
		}
		for _, n := range file.Names() {
			tn, ok := file.Tensor(n)
			if !ok || len(tn.Data) != tn.Elements()*dtypeSizes[tn.DType] {
				t.Fatalf("%s: %d bytes for %s %v", n, len(tn.Data), tn.DType, tn.Shape)
			}
			if vs, err := tn.Float32s(); err == nil && len(vs)*dtypeSizes[tn.DType] != len(tn.Data) {
				t.Fatalf("%s: %d values from %d bytes", n, len(vs), len(tn.Data))
			}
		}
	})
}
