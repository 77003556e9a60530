package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvpack/kvpack/internal/gguf"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/tensor"
	"github.com/kvpack/kvpack/internal/testmodel"
)

// TestLoadErrors: broken or unsupported files give an error naming the file and
// the problem, never a panic.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.gguf")
	spec := testmodel.Spec{Arch: "llama", Type: tensor.Q8_0, Seed: 1, VocabFrom: oracle.RequireModel(t, oracle.StoriesModel), Layers: 1}
	if err := testmodel.Write(good, spec); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rewrite := func(name string, edit func(w *gguf.Writer, f *gguf.File)) string {
		f, err := gguf.Open(good)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w := gguf.NewWriter()
		for _, k := range f.Keys() {
			v, _ := f.Value(k)
			w.Set(k, v)
		}
		edit(w, f)
		p := filepath.Join(dir, name)
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"truncated", write("trunc.gguf", raw[:len(raw)/2]), "trunc.gguf"},
		{"not gguf", write("text.gguf", []byte("hello world, not a model")), "not a GGUF"},
		{"missing", filepath.Join(dir, "nope.gguf"), "nope.gguf"},
		{"unknown arch", rewrite("arch.gguf", func(w *gguf.Writer, f *gguf.File) { w.Set("general.architecture", "mamba") }), `architecture "mamba"`},
		{"missing tensors", rewrite("notensors.gguf", func(*gguf.Writer, *gguf.File) {}), "missing tensor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := model.Load(c.path)
			if err == nil {
				m.Close()
				t.Fatalf("loaded a broken file")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
}
