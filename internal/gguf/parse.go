package gguf

import (
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/kvpack/kvpack/internal/tensor"
)

const (
	magic            = "GGUF"
	defaultAlignment = 32
	maxAlignment     = 1 << 30
	maxDims          = 4             // GGML_MAX_DIMS
	minKVBytes       = 8 + 4 + 1     // key length, value type, smallest value
	minTensorBytes   = 8 + 4 + 4 + 8 // name length, n_dims, type, offset
	keyAlignment     = "general.alignment"
)

// parser holds the state of one Parse call.
type parser struct {
	d decoder
	f *File
}

// Parse parses a GGUF file held in data; name is used in error messages and
// returned by Path. The File aliases data (tensor data is not copied).
func Parse(name string, data []byte) (*File, error) {
	p := &parser{
		d: decoder{buf: data},
		f: &File{path: name, data: data, align: defaultAlignment, values: map[string]any{}, byName: map[string]int{}},
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.f, nil
}

func (p *parser) fail(ctx string, err error) error {
	if ctx == "" {
		return fmt.Errorf("gguf: %s: %w", p.f.path, err)
	}
	return fmt.Errorf("gguf: %s: %s: %w", p.f.path, ctx, err)
}

func (p *parser) parse() error {
	tensors, kvs, err := p.header()
	if err != nil {
		return err
	}
	for i := range kvs {
		if err := p.keyValue(i, kvs); err != nil {
			return err
		}
	}
	if err := p.alignment(); err != nil {
		return err
	}
	p.f.tensors = make([]TensorInfo, 0, tensors)
	for i := range tensors {
		if err := p.tensorInfo(i, tensors); err != nil {
			return err
		}
	}
	p.f.dataStart = alignUp(uint64(p.d.off), uint64(p.f.align))
	return p.checkData()
}

// header reads magic, version and the two counts, and bounds the counts by
// the bytes that remain.
func (p *parser) header() (tensors, kvs uint64, err error) {
	if len(p.d.buf) < len(magic) {
		return 0, 0, p.fail("", fmt.Errorf("%w (file has only %d bytes)", ErrNotGGUF, len(p.d.buf)))
	}
	if m := string(p.d.buf[:4]); m != magic {
		return 0, 0, p.fail("", fmt.Errorf("%w (magic %q, want %q)", ErrNotGGUF, m, magic))
	}
	p.d.off = 4
	v, err := p.d.u32()
	if err != nil {
		return 0, 0, p.fail("header", err)
	}
	p.f.version = v
	if v != 2 && v != 3 {
		hint := "kvpack reads GGUF v2 and v3"
		if v > 0xffff && v&0xffff == 0 {
			hint = "big-endian file? kvpack reads little-endian GGUF v2 and v3"
		}
		return 0, 0, p.fail("", fmt.Errorf("%w version %d (%s)", ErrUnsupported, v, hint))
	}
	if tensors, err = p.d.u64(); err == nil {
		kvs, err = p.d.u64()
	}
	if err != nil {
		return 0, 0, p.fail("header", err)
	}
	rem := p.d.remaining()
	if kvs > rem/minKVBytes {
		return 0, 0, p.fail("header", malformed("claims %d metadata keys but only %d bytes remain", kvs, rem))
	}
	if tensors > (rem-kvs*minKVBytes)/minTensorBytes {
		return 0, 0, p.fail("header", malformed("claims %d tensors and %d metadata keys but only %d bytes remain", tensors, kvs, rem))
	}
	return tensors, kvs, nil
}

// keyValue reads metadata pair i of n.
func (p *parser) keyValue(i, n uint64) error {
	key, err := p.d.str()
	if err != nil {
		return p.fail(fmt.Sprintf("metadata key %d of %d", i, n), err)
	}
	ctx := fmt.Sprintf("metadata key %q", key)
	if _, dup := p.f.values[key]; dup {
		return p.fail(ctx, malformed("duplicate key"))
	}
	t, err := p.d.u32()
	if err != nil {
		return p.fail(ctx, err)
	}
	v, err := p.d.value(valueType(t), 0)
	if err != nil {
		return p.fail(ctx, err)
	}
	p.f.keys = append(p.f.keys, key)
	p.f.values[key] = v
	return nil
}

// alignment applies general.alignment.
func (p *parser) alignment() error {
	v, ok := p.f.values[keyAlignment]
	if !ok {
		return nil
	}
	a, isInt := toUint(v)
	if !isInt || a == 0 || a&(a-1) != 0 || a > maxAlignment {
		return p.fail(keyAlignment, malformed("%v (%T) is not a power of two up to %d", v, v, maxAlignment))
	}
	p.f.align = int(a)
	return nil
}

// tensorInfo reads and validates index entry i of n.
func (p *parser) tensorInfo(i, n uint64) error {
	name, err := p.d.str()
	if err != nil {
		return p.fail(fmt.Sprintf("tensor info %d of %d", i, n), err)
	}
	ctx := fmt.Sprintf("tensor %q", name)
	if _, dup := p.f.byName[name]; dup {
		return p.fail(ctx, malformed("duplicate tensor name"))
	}
	nd, err := p.d.u32()
	if err != nil {
		return p.fail(ctx, err)
	}
	if nd > maxDims {
		return p.fail(ctx, malformed("has %d dimensions (at most %d)", nd, maxDims))
	}
	t := TensorInfo{Name: name, Shape: make([]uint64, nd)}
	for j := range t.Shape {
		if t.Shape[j], err = p.d.u64(); err != nil {
			return p.fail(ctx, err)
		}
	}
	typ, err := p.d.u32()
	if err == nil {
		t.Offset, err = p.d.u64()
	}
	if err != nil {
		return p.fail(ctx, err)
	}
	t.Type = tensor.DType(typ)
	if err := p.checkTensor(&t); err != nil {
		return err
	}
	p.f.byName[name] = len(p.f.tensors)
	p.f.tensors = append(p.f.tensors, t)
	return nil
}

// checkTensor validates type, shape and offset alignment and sets t.Size.
func (p *parser) checkTensor(t *TensorInfo) error {
	if !t.Type.Known() {
		return p.fail("", fmt.Errorf("tensor %q has %w type %s (id %d)", t.Name, ErrUnsupported, t.Type, uint32(t.Type)))
	}
	size, err := tensorSize(t.Type, t.Shape)
	if err != nil {
		return p.fail(fmt.Sprintf("tensor %q", t.Name), err)
	}
	t.Size = size
	if t.Offset%uint64(p.f.align) != 0 {
		return p.fail(fmt.Sprintf("tensor %q", t.Name),
			malformed("data offset %d is not a multiple of the alignment %d", t.Offset, p.f.align))
	}
	return nil
}

// tensorSize computes the byte size of a tensor, rejecting row lengths that
// are not whole blocks and element counts that overflow int64 (ggml's ne).
func tensorSize(typ tensor.DType, shape []uint64) (uint64, error) {
	ne0 := uint64(1)
	if len(shape) > 0 {
		ne0 = shape[0]
	}
	bs := uint64(typ.BlockSize())
	if ne0%bs != 0 {
		return 0, malformed("row length %d is not a multiple of the %s block size %d", ne0, typ, bs)
	}
	elems := uint64(1)
	hi, size := bits.Mul64(ne0/bs, uint64(typ.BlockBytes()))
	if hi != 0 {
		return 0, malformed("shape %v of type %s overflows", shape, typ)
	}
	for j, n := range shape {
		eh, lo := bits.Mul64(elems, n)
		if eh != 0 || lo > math.MaxInt64 {
			return 0, malformed("shape %v has more than 2^63 elements", shape)
		}
		elems = lo
		if j > 0 {
			if hi, size = bits.Mul64(size, n); hi != 0 {
				return 0, malformed("shape %v of type %s overflows", shape, typ)
			}
		}
	}
	return size, nil
}

// checkData checks that every tensor lies inside the file and that no two
// tensors overlap.
func (p *parser) checkData() error {
	fileSize := uint64(len(p.d.buf))
	for _, t := range p.f.tensors {
		if end := satAdd(satAdd(p.f.dataStart, t.Offset), t.Size); end > fileSize {
			return p.fail("", fmt.Errorf("%w: tensor data of %q ends at byte %d but file has %d bytes",
				ErrTruncated, t.Name, end, fileSize))
		}
	}
	order := make([]int, len(p.f.tensors))
	for i := range order {
		order[i] = i
	}
	ts := p.f.tensors
	sort.SliceStable(order, func(a, b int) bool {
		x, y := ts[order[a]], ts[order[b]]
		return x.Offset < y.Offset || (x.Offset == y.Offset && x.Size < y.Size)
	})
	for k := 1; k < len(order); k++ {
		a, b := ts[order[k-1]], ts[order[k]]
		if a.Offset+a.Size > b.Offset {
			return p.fail("", malformed("tensor data of %q [%d, %d) overlaps %q [%d, %d)",
				a.Name, a.Offset, a.Offset+a.Size, b.Name, b.Offset, b.Offset+b.Size))
		}
	}
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// satAdd adds without wrapping around (saturates at MaxUint64).
func satAdd(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}
