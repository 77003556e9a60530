package gguf

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/kvpack/kvpack/internal/tensor"
)

// maxNameLen is ggml's GGML_MAX_NAME: llama.cpp rejects longer tensor names.
const maxNameLen = 63

// Writer builds a GGUF v3 file in memory (metadata) and streams it out.
// Tensor data is referenced, not copied, until WriteTo.
type Writer struct {
	align   int
	keys    []string
	values  map[string]any
	tensors []TensorInfo
	data    [][]byte
	names   map[string]bool
	err     error // first error of Set/SetAlignment, reported by WriteTo
}

// NewWriter returns a Writer for GGUF v3 with alignment 32.
func NewWriter() *Writer {
	return &Writer{align: defaultAlignment, values: map[string]any{}, names: map[string]bool{}}
}

// SetAlignment sets the data alignment and records it as general.alignment
// (u32). n must be a power of two; otherwise WriteTo fails.
func (w *Writer) SetAlignment(n int) {
	if n <= 0 || n&(n-1) != 0 || n > maxAlignment {
		w.setErr(fmt.Errorf("gguf: alignment %d is not a power of two up to %d", n, maxAlignment))
		return
	}
	w.Set(keyAlignment, uint32(n))
}

// Set sets a metadata value; see File.Value for the accepted Go types
// ([]any holds nested arrays). Keys keep their first insertion order; setting
// an existing key replaces its value. Unsupported types (int, uint, float
// slices of other kinds, ...) make WriteTo fail: llama.cpp checks the exact
// GGUF type of each key, so the caller has to choose it.
func (w *Writer) Set(key string, value any) {
	if _, err := appendValue(nil, value); err != nil {
		w.setErr(fmt.Errorf("gguf: key %q: %w", key, err))
		return
	}
	if key == keyAlignment {
		a, ok := value.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 || a > maxAlignment {
			w.setErr(fmt.Errorf("gguf: key %q: %v (%T) is not a u32 power of two", key, value, value))
			return
		}
		w.align = int(a)
	}
	if _, ok := w.values[key]; !ok {
		w.keys = append(w.keys, key)
	}
	w.values[key] = value
}

func (w *Writer) setErr(err error) {
	if w.err == nil {
		w.err = err
	}
}

// AddTensor appends a tensor. shape is in ggml order (shape[0] is the row
// length); data must hold exactly the tensor's bytes and is not copied.
func (w *Writer) AddTensor(name string, typ tensor.DType, shape []uint64, data []byte) error {
	switch {
	case name == "" || len(name) > maxNameLen:
		return fmt.Errorf("gguf: tensor name %q must have 1 to %d bytes", name, maxNameLen)
	case w.names[name]:
		return fmt.Errorf("gguf: duplicate tensor %q", name)
	case !typ.Known():
		return fmt.Errorf("gguf: tensor %q: %w type %s (id %d)", name, ErrUnsupported, typ, uint32(typ))
	case len(shape) < 1 || len(shape) > maxDims:
		return fmt.Errorf("gguf: tensor %q: shape %v must have 1 to %d dimensions", name, shape, maxDims)
	}
	size, err := tensorSize(typ, shape)
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	if uint64(len(data)) != size {
		return fmt.Errorf("gguf: tensor %q: %s %v needs %d bytes, got %d", name, typ, shape, size, len(data))
	}
	w.names[name] = true
	w.tensors = append(w.tensors, TensorInfo{Name: name, Shape: append([]uint64(nil), shape...), Type: typ, Size: size})
	w.data = append(w.data, data)
	return nil
}

// header encodes everything before the tensor data, including the padding
// that aligns the data section, and assigns tensor offsets.
func (w *Writer) header() ([]byte, error) {
	b := append([]byte(magic), 0, 0, 0, 0)
	le.PutUint32(b[4:], 3)
	b = le.AppendUint64(b, uint64(len(w.tensors)))
	b = le.AppendUint64(b, uint64(len(w.keys)))
	for _, k := range w.keys {
		b = appendScalar(b, k)
		var err error
		if b, err = appendValue(b, w.values[k]); err != nil {
			return nil, fmt.Errorf("gguf: key %q: %w", k, err)
		}
	}
	off := uint64(0)
	for i := range w.tensors {
		t := &w.tensors[i]
		t.Offset = off
		off = alignUp(off+t.Size, uint64(w.align))
		b = appendScalar(b, t.Name)
		b = le.AppendUint32(b, uint32(len(t.Shape)))
		for _, d := range t.Shape {
			b = le.AppendUint64(b, d)
		}
		b = le.AppendUint32(b, uint32(t.Type))
		b = le.AppendUint64(b, t.Offset)
	}
	return pad(b, w.align), nil
}

func pad(b []byte, align int) []byte {
	for len(b)%align != 0 {
		b = append(b, 0)
	}
	return b
}

// WriteTo writes the file. Each tensor's data is followed by zero padding up
// to the alignment, as llama.cpp's writer does.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	hdr, err := w.header()
	if err != nil {
		return 0, err
	}
	n, err := out.Write(hdr)
	total := int64(n)
	zeros := make([]byte, w.align)
	for i, t := range w.tensors {
		if err != nil {
			break
		}
		n, err = out.Write(w.data[i])
		total += int64(n)
		if p := int(alignUp(t.Size, uint64(w.align)) - t.Size); err == nil && p > 0 {
			n, err = out.Write(zeros[:p])
			total += int64(n)
		}
	}
	if err != nil {
		return total, fmt.Errorf("gguf: write: %w", err)
	}
	return total, nil
}

// WriteFile writes the file to path.
func (w *Writer) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	_, err = w.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	return nil
}

// Bytes returns the encoded file.
func (w *Writer) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
