package gguf

import (
	"fmt"
	"math"
)

// scalarType maps a Go scalar to its GGUF type id.
func scalarType(v any) (valueType, bool) {
	switch v.(type) {
	case uint8:
		return typeUint8, true
	case int8:
		return typeInt8, true
	case uint16:
		return typeUint16, true
	case int16:
		return typeInt16, true
	case uint32:
		return typeUint32, true
	case int32:
		return typeInt32, true
	case float32:
		return typeFloat32, true
	case bool:
		return typeBool, true
	case string:
		return typeString, true
	case uint64:
		return typeUint64, true
	case int64:
		return typeInt64, true
	case float64:
		return typeFloat64, true
	}
	return 0, false
}

// appendValue appends the type id and encoding of v.
func appendValue(b []byte, v any) ([]byte, error) {
	if t, ok := scalarType(v); ok {
		return appendScalar(le.AppendUint32(b, uint32(t)), v), nil
	}
	return appendArray(le.AppendUint32(b, uint32(typeArray)), v, 0)
}

// appendScalar appends the payload of a scalar accepted by scalarType.
func appendScalar(b []byte, v any) []byte {
	switch x := v.(type) {
	case uint8:
		return append(b, x)
	case int8:
		return append(b, byte(x))
	case bool:
		if x {
			return append(b, 1)
		}
		return append(b, 0)
	case uint16:
		return le.AppendUint16(b, x)
	case int16:
		return le.AppendUint16(b, uint16(x))
	case uint32:
		return le.AppendUint32(b, x)
	case int32:
		return le.AppendUint32(b, uint32(x))
	case float32:
		return le.AppendUint32(b, math.Float32bits(x))
	case uint64:
		return le.AppendUint64(b, x)
	case int64:
		return le.AppendUint64(b, uint64(x))
	case float64:
		return le.AppendUint64(b, math.Float64bits(x))
	default: // string
		s := x.(string)
		return append(le.AppendUint64(b, uint64(len(s))), s...)
	}
}

// appendArray appends an array body (element type, count, elements).
func appendArray(b []byte, v any, depth int) ([]byte, error) {
	if depth >= maxNesting {
		return nil, fmt.Errorf("arrays nested deeper than %d levels", maxNesting)
	}
	switch x := v.(type) {
	case []uint8:
		return appendSlice(b, typeUint8, x), nil
	case []int8:
		return appendSlice(b, typeInt8, x), nil
	case []uint16:
		return appendSlice(b, typeUint16, x), nil
	case []int16:
		return appendSlice(b, typeInt16, x), nil
	case []uint32:
		return appendSlice(b, typeUint32, x), nil
	case []int32:
		return appendSlice(b, typeInt32, x), nil
	case []float32:
		return appendSlice(b, typeFloat32, x), nil
	case []bool:
		return appendSlice(b, typeBool, x), nil
	case []string:
		return appendSlice(b, typeString, x), nil
	case []uint64:
		return appendSlice(b, typeUint64, x), nil
	case []int64:
		return appendSlice(b, typeInt64, x), nil
	case []float64:
		return appendSlice(b, typeFloat64, x), nil
	case []any:
		return appendNested(b, x, depth)
	}
	return nil, fmt.Errorf("unsupported Go type %T (use uint8..uint64, int8..int64, float32, float64, bool, string, slices of those, or []any of slices)", v)
}

func appendSlice[T any](b []byte, t valueType, s []T) []byte {
	b = le.AppendUint32(b, uint32(t))
	b = le.AppendUint64(b, uint64(len(s)))
	for _, x := range s {
		b = appendScalar(b, any(x))
	}
	return b
}

// appendNested appends an array of arrays; every element must be a slice.
func appendNested(b []byte, s []any, depth int) ([]byte, error) {
	b = le.AppendUint32(b, uint32(typeArray))
	b = le.AppendUint64(b, uint64(len(s)))
	for i, x := range s {
		var err error
		if b, err = appendArray(b, x, depth+1); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return b, nil
}
