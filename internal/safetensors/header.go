package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sort"
)

// maxHeaderBytes bounds the JSON header (the reference implementation uses
// the same 100 MB limit).
const maxHeaderBytes = 100_000_000

const metadataKey = "__metadata__"

// dtypeSizes maps the safetensors dtype names to their element sizes.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8, "C64": 8,
}

// entry is one tensor of the JSON header; pointers detect missing fields.
type entry struct {
	DType   *string   `json:"dtype"`
	Shape   *[]int64  `json:"shape"`
	Offsets *[]uint64 `json:"data_offsets"`
}

// span is a tensor's byte range in the data buffer, for the overlap check.
type span struct {
	name       string
	start, end uint64
}

// Parse parses a safetensors file held in data; name is used in errors and
// returned by Path. Tensor data aliases data.
func Parse(name string, data []byte) (*File, error) {
	fail := func(err error) (*File, error) { return nil, fmt.Errorf("safetensors: %s: %w", name, err) }
	raw, buf, err := splitHeader(data)
	if err != nil {
		return fail(err)
	}
	f := &File{path: name, data: data, tensors: map[string]Tensor{}}
	if f.metadata, err = decodeMetadata(raw); err != nil {
		return fail(err)
	}
	delete(raw, metadataKey)
	spans := make([]span, 0, len(raw))
	for _, n := range sortedKeysRaw(raw) {
		t, sp, err := decodeEntry(n, raw[n], buf)
		if err != nil {
			return fail(err)
		}
		f.tensors[n] = t
		spans = append(spans, sp)
	}
	if err := checkOverlap(spans); err != nil {
		return fail(err)
	}
	f.names = sortedKeys(f.tensors)
	return f, nil
}

// splitHeader validates the length prefix and decodes the header object; it
// returns the entries by name and the data buffer that follows.
func splitHeader(data []byte) (map[string]json.RawMessage, []byte, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("%w: file has %d bytes, too short for the 8-byte header length", ErrFormat, len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeaderBytes || n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d exceeds the file (%d bytes) or the %d-byte limit",
			ErrFormat, n, len(data), maxHeaderBytes)
	}
	hdr := data[8 : 8+n]
	if len(bytes.TrimSpace(hdr)) == 0 || bytes.TrimSpace(hdr)[0] != '{' {
		return nil, nil, fmt.Errorf("%w: header is not a JSON object", ErrFormat)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: header JSON: %w", ErrFormat, err)
	}
	buf := data[8+n:]
	return raw, buf[:len(buf):len(buf)], nil
}

func decodeMetadata(raw map[string]json.RawMessage) (map[string]string, error) {
	m, ok := raw[metadataKey]
	if !ok {
		return nil, nil
	}
	var md map[string]string
	if err := json.Unmarshal(m, &md); err != nil {
		return nil, fmt.Errorf("%w: %s must map strings to strings: %w", ErrFormat, metadataKey, err)
	}
	return md, nil
}

// decodeEntry validates one header entry against the data buffer.
func decodeEntry(name string, msg json.RawMessage, buf []byte) (Tensor, span, error) {
	fail := func(format string, args ...any) (Tensor, span, error) {
		return Tensor{}, span{}, fmt.Errorf("%w: tensor %q: %s", ErrFormat, name, fmt.Sprintf(format, args...))
	}
	var e entry
	if err := json.Unmarshal(msg, &e); err != nil {
		return fail("%v", err)
	}
	if e.DType == nil || e.Shape == nil || e.Offsets == nil {
		return fail("entry needs dtype, shape and data_offsets")
	}
	size, ok := dtypeSizes[*e.DType]
	if !ok {
		return fail("unsupported dtype %q", *e.DType)
	}
	shape, nbytes, err := shapeBytes(*e.Shape, size)
	if err != nil {
		return fail("%v", err)
	}
	off := *e.Offsets
	if len(off) != 2 || off[0] > off[1] || off[1] > uint64(len(buf)) {
		return fail("data_offsets %v are not a range inside the %d-byte data buffer", off, len(buf))
	}
	if off[1]-off[0] != nbytes {
		return fail("data_offsets %v hold %d bytes but %s %v needs %d", off, off[1]-off[0], *e.DType, shape, nbytes)
	}
	t := Tensor{Name: name, DType: *e.DType, Shape: shape, Data: buf[off[0]:off[1]:off[1]]}
	return t, span{name, off[0], off[1]}, nil
}

// shapeBytes validates the dims and returns them with the byte size.
func shapeBytes(dims []int64, size int) ([]int, uint64, error) {
	shape := make([]int, len(dims))
	n := uint64(size)
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("shape %v has a negative dimension", dims)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return nil, 0, fmt.Errorf("shape %v is too large", dims)
		}
		n, shape[i] = lo, int(d)
	}
	return shape, n, nil
}

// checkOverlap rejects tensors whose byte ranges overlap.
func checkOverlap(spans []span) error {
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end < spans[j].end
	})
	for i := 1; i < len(spans); i++ {
		a, b := spans[i-1], spans[i]
		if a.end > b.start {
			return fmt.Errorf("%w: data of %q [%d, %d) overlaps %q [%d, %d)", ErrFormat, a.name, a.start, a.end, b.name, b.start, b.end)
		}
	}
	return nil
}

func sortedKeysRaw(m map[string]json.RawMessage) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
