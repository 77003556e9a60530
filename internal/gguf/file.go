package gguf

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/mmapfile"
	"github.com/kvpack/kvpack/internal/tensor"
)

// File is a parsed GGUF file. Metadata lives in the Go heap; tensor data stays
// in the file mapping (or the caller's buffer for Parse) and TensorData returns
// slices aliasing it. Those slices are read-only (writing to a mapping faults)
// and valid until Close. A File is safe for concurrent readers; Close must not
// race with them.
type File struct {
	path      string
	data      []byte
	unmap     func([]byte) error
	version   uint32
	align     int
	keys      []string
	values    map[string]any
	tensors   []TensorInfo
	byName    map[string]int
	dataStart uint64
}

// TensorInfo describes one tensor of the index.
type TensorInfo struct {
	Name string
	// Shape is in ggml order: Shape[0] is the row length (ne0), Shape[1] the
	// number of rows, and so on.
	Shape []uint64
	Type  tensor.DType
	// Offset is relative to the start of the tensor data section.
	Offset uint64
	// Size is the data size in bytes.
	Size uint64
}

// Elements is the number of elements (the product of Shape; 1 for a scalar).
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Open memory-maps the file at path (read-only) and parses it. Tensor data is
// not copied.
func Open(path string) (*File, error) {
	data, unmap, err := mmapfile.Map(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := Parse(path, data)
	if err != nil {
		_ = unmap(data)
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// Close releases the mapping. Slices returned by TensorData must not be used
// afterwards. Closing a File from Parse only drops the reference to the buffer.
func (f *File) Close() error {
	data, unmap := f.data, f.unmap
	f.data, f.unmap = nil, nil
	if unmap == nil || data == nil {
		return nil
	}
	if err := unmap(data); err != nil {
		return fmt.Errorf("gguf: %s: unmap: %w", f.path, err)
	}
	return nil
}

// Path is the path given to Open (or the name given to Parse).
func (f *File) Path() string { return f.path }

// Version is the GGUF version (2 or 3).
func (f *File) Version() uint32 { return f.version }

// Alignment is general.alignment (32 when absent).
func (f *File) Alignment() int { return f.align }

// DataOffset is the absolute file offset of the tensor data section.
func (f *File) DataOffset() uint64 { return f.dataStart }

// Size is the file size in bytes.
func (f *File) Size() int { return len(f.data) }

// Tensors returns the tensor index in file order. The slice is shared: do not
// modify it.
func (f *File) Tensors() []TensorInfo { return f.tensors }

// Tensor looks a tensor up by name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// TensorData returns the bytes of the named tensor: exactly Size bytes,
// aliasing the mapping (read-only, valid until Close).
func (f *File) TensorData(name string) ([]byte, error) {
	i, ok := f.byName[name]
	if !ok {
		return nil, fmt.Errorf("gguf: %s: no tensor %q", f.path, name)
	}
	if f.data == nil {
		return nil, fmt.Errorf("gguf: %s: file is closed", f.path)
	}
	t := f.tensors[i]
	start := f.dataStart + t.Offset
	end := start + t.Size // validated at Parse time
	return f.data[start:end:end], nil
}
