package gguf

import (
	"encoding/binary"
	"math"
)

var le = binary.LittleEndian

// maxNesting bounds how deep arrays of arrays may nest.
const maxNesting = 8

// decoder reads little-endian GGUF primitives from a byte slice. It never
// reads past the end: every read checks the remaining length first.
type decoder struct {
	buf []byte
	off int
}

func (d *decoder) remaining() uint64 { return uint64(len(d.buf) - d.off) }

func (d *decoder) take(n uint64) ([]byte, error) {
	if n > d.remaining() {
		return nil, &shortError{at: uint64(d.off), need: n, size: uint64(len(d.buf))}
	}
	b := d.buf[d.off : d.off+int(n)]
	d.off += int(n)
	return b, nil
}

func (d *decoder) u32() (uint32, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return le.Uint32(b), nil
}

func (d *decoder) u64() (uint64, error) {
	b, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return le.Uint64(b), nil
}

func (d *decoder) str() (string, error) {
	n, err := d.u64()
	if err != nil {
		return "", err
	}
	b, err := d.take(n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// value decodes one value of type t.
func (d *decoder) value(t valueType, depth int) (any, error) {
	switch t {
	case typeString:
		return d.str()
	case typeArray:
		return d.array(depth + 1)
	}
	size := t.fixedSize()
	if size == 0 {
		return nil, malformed("unknown value type id %d", uint32(t))
	}
	b, err := d.take(size)
	if err != nil {
		return nil, err
	}
	return scalar(t, b), nil
}

// scalar decodes a fixed-size value; b has exactly t.fixedSize() bytes.
func scalar(t valueType, b []byte) any {
	switch t {
	case typeUint8:
		return b[0]
	case typeInt8:
		return int8(b[0])
	case typeBool:
		return b[0] != 0
	case typeUint16:
		return le.Uint16(b)
	case typeInt16:
		return int16(le.Uint16(b))
	case typeUint32:
		return le.Uint32(b)
	case typeInt32:
		return int32(le.Uint32(b))
	case typeFloat32:
		return math.Float32frombits(le.Uint32(b))
	case typeUint64:
		return le.Uint64(b)
	case typeInt64:
		return int64(le.Uint64(b))
	default: // typeFloat64
		return math.Float64frombits(le.Uint64(b))
	}
}

// array decodes an array body: element type, count, elements.
func (d *decoder) array(depth int) (any, error) {
	if depth > maxNesting {
		return nil, malformed("arrays nested deeper than %d levels", maxNesting)
	}
	u, err := d.u32()
	if err != nil {
		return nil, err
	}
	et := valueType(u)
	n, err := d.u64()
	if err != nil {
		return nil, err
	}
	elem := et.minSize()
	if elem == 0 {
		return nil, malformed("array has unknown element type id %d", u)
	}
	if n > d.remaining()/elem {
		return nil, malformed("array claims %d elements of type %s but only %d bytes remain", n, et, d.remaining())
	}
	switch et {
	case typeString:
		return d.strings(n)
	case typeArray:
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.array(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	b, err := d.take(n * elem)
	if err != nil {
		return nil, err
	}
	return fixedArray(et, b), nil
}

// strings decodes n strings. All of them are copied into one Go string in a
// single allocation and sliced from it (tokenizer vocabularies hold ~10^5
// short strings).
func (d *decoder) strings(n uint64) ([]string, error) {
	start := d.off
	for range n {
		l, err := d.u64()
		if err != nil {
			return nil, err
		}
		if _, err := d.take(l); err != nil {
			return nil, err
		}
	}
	blob := string(d.buf[start:d.off])
	out := make([]string, n)
	p := 0
	for i := range out {
		l := int(le.Uint64(d.buf[start+p:]))
		out[i] = blob[p+8 : p+8+l]
		p += 8 + l
	}
	return out, nil
}

// fixedArray decodes len(b)/size elements of the fixed-size type et.
func fixedArray(et valueType, b []byte) any {
	switch et {
	case typeUint8:
		return append([]uint8{}, b...)
	case typeInt8:
		return decodeAll(b, 1, func(b []byte) int8 { return int8(b[0]) })
	case typeBool:
		return decodeAll(b, 1, func(b []byte) bool { return b[0] != 0 })
	case typeUint16:
		return decodeAll(b, 2, le.Uint16)
	case typeInt16:
		return decodeAll(b, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })
	case typeUint32:
		return decodeAll(b, 4, le.Uint32)
	case typeInt32:
		return decodeAll(b, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })
	case typeFloat32:
		return decodeAll(b, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
	case typeUint64:
		return decodeAll(b, 8, le.Uint64)
	case typeInt64:
		return decodeAll(b, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })
	default: // typeFloat64
		return decodeAll(b, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
	}
}

func decodeAll[T any](b []byte, size int, get func([]byte) T) []T {
	out := make([]T, len(b)/size)
	for i := range out {
		out[i] = get(b[i*size:])
	}
	return out
}
