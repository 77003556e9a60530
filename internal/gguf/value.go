package gguf

import "math"

// Keys returns the metadata keys in file order.
func (f *File) Keys() []string { return append([]string(nil), f.keys...) }

// Value returns a metadata value with its Go type: uint8..uint64, int8..int64,
// float32, float64, bool, string; arrays as []uint8..[]int64, []float32,
// []float64, []bool, []string; arrays of arrays as []any. Slices are shared
// with the File: do not modify them.
func (f *File) Value(key string) (any, bool) {
	v, ok := f.values[key]
	return v, ok
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	s, ok := f.values[key].(string)
	return s, ok
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	b, ok := f.values[key].(bool)
	return b, ok
}

// Uint returns a value of any integer type that holds a non-negative number.
func (f *File) Uint(key string) (uint64, bool) { return toUint(f.values[key]) }

// Int returns a value of any integer type that fits in an int64.
func (f *File) Int(key string) (int64, bool) { return toInt(f.values[key]) }

// Float returns a float32/float64 value, or an integer value converted.
func (f *File) Float(key string) (float64, bool) {
	switch v := f.values[key].(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	if i, ok := toInt(f.values[key]); ok {
		return float64(i), true
	}
	if u, ok := toUint(f.values[key]); ok {
		return float64(u), true
	}
	return 0, false
}

// Strings returns a string array (shared: do not modify).
func (f *File) Strings(key string) ([]string, bool) {
	s, ok := f.values[key].([]string)
	return s, ok
}

// Float32s returns a float or integer array converted to float32. A []float32
// value is returned as is (shared: do not modify).
func (f *File) Float32s(key string) ([]float32, bool) {
	switch v := f.values[key].(type) {
	case []float32:
		return v, true
	case []float64:
		return convert(v, func(x float64) float32 { return float32(x) }), true
	}
	if is, ok := f.int64s(key); ok {
		return convert(is, func(x int64) float32 { return float32(x) }), true
	}
	if us, ok := f.values[key].([]uint64); ok {
		return convert(us, func(x uint64) float32 { return float32(x) }), true
	}
	return nil, false
}

// Int32s returns an integer array converted to int32; false if it is not an
// integer array or an element does not fit in an int32.
func (f *File) Int32s(key string) ([]int32, bool) {
	if v, ok := f.values[key].([]int32); ok {
		return v, true
	}
	if us, ok := f.values[key].([]uint64); ok {
		out := make([]int32, len(us))
		for i, u := range us {
			if u > math.MaxInt32 {
				return nil, false
			}
			out[i] = int32(u)
		}
		return out, true
	}
	is, ok := f.int64s(key)
	if !ok {
		return nil, false
	}
	out := make([]int32, len(is))
	for i, x := range is {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// int64s converts any integer array except []uint64 to []int64.
func (f *File) int64s(key string) ([]int64, bool) {
	switch v := f.values[key].(type) {
	case []uint8:
		return convert(v, func(x uint8) int64 { return int64(x) }), true
	case []int8:
		return convert(v, func(x int8) int64 { return int64(x) }), true
	case []uint16:
		return convert(v, func(x uint16) int64 { return int64(x) }), true
	case []int16:
		return convert(v, func(x int16) int64 { return int64(x) }), true
	case []uint32:
		return convert(v, func(x uint32) int64 { return int64(x) }), true
	case []int32:
		return convert(v, func(x int32) int64 { return int64(x) }), true
	case []int64:
		return v, true
	}
	return nil, false
}

func convert[S, D any](s []S, f func(S) D) []D {
	out := make([]D, len(s))
	for i, x := range s {
		out[i] = f(x)
	}
	return out
}

// toUint converts any integer holding a non-negative value.
func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	if i, ok := toInt(v); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// toInt converts any integer that fits in an int64.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}
