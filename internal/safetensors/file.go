package safetensors

import (
	"errors"
	"fmt"
	"sort"

	"github.com/kvpack/kvpack/internal/mmapfile"
)

// ErrFormat is wrapped by every error about the content of a file.
var ErrFormat = errors.New("invalid safetensors file")

// File is a parsed safetensors file.
type File struct {
	path     string
	data     []byte
	unmap    func([]byte) error
	tensors  map[string]Tensor
	names    []string
	metadata map[string]string
}

// Tensor is one tensor of a File.
type Tensor struct {
	Name  string
	DType string // "F32", "F16", "BF16", "I64", ... as written in the header
	// Shape is row-major (PyTorch order): Shape[0] is the number of rows of
	// a 2-D weight. Empty for a scalar.
	Shape []int
	// Data aliases the file mapping: read-only, valid until Close.
	Data []byte
}

// Elements is the number of elements (1 for a scalar).
func (t Tensor) Elements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Open memory-maps path read-only and parses its header.
func Open(path string) (*File, error) {
	data, unmap, err := mmapfile.Map(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(path, data)
	if err != nil {
		_ = unmap(data)
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// Close releases the mapping; Tensor.Data slices must not be used afterwards.
func (f *File) Close() error {
	data, unmap := f.data, f.unmap
	f.data, f.unmap, f.tensors = nil, nil, nil
	if data == nil || unmap == nil {
		return nil
	}
	if err := unmap(data); err != nil {
		return fmt.Errorf("safetensors: %s: unmap: %w", f.path, err)
	}
	return nil
}

// Path is the path given to Open (or the name given to Parse).
func (f *File) Path() string { return f.path }

// Names returns the tensor names, sorted.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Tensor looks a tensor up by name.
func (f *File) Tensor(name string) (Tensor, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// Metadata returns the free-form "__metadata__" string map (nil if absent).
// transformers stores e.g. {"format": "pt"} and, for tied weights, which
// tensor name stands for an omitted one.
func (f *File) Metadata() map[string]string { return f.metadata }

func sortedKeys(m map[string]Tensor) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
