package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Float32s converts F32, F16 and BF16 data to a new []float32.
func (t Tensor) Float32s() ([]float32, error) {
	le := binary.LittleEndian
	var conv func([]byte) float32
	size := 2
	switch t.DType {
	case "F32":
		conv, size = func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }, 4
	case "F16":
		conv = func(b []byte) float32 { return halfToFloat32(le.Uint16(b)) }
	case "BF16":
		conv = func(b []byte) float32 { return math.Float32frombits(uint32(le.Uint16(b)) << 16) }
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: cannot convert dtype %s to float32", t.Name, t.DType)
	}
	if len(t.Data)%size != 0 {
		return nil, fmt.Errorf("safetensors: tensor %q: %d bytes is not a whole number of %s values", t.Name, len(t.Data), t.DType)
	}
	out := make([]float32, len(t.Data)/size)
	for i := range out {
		out[i] = conv(t.Data[i*size:])
	}
	return out, nil
}

// halfToFloat32 converts an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN (payload kept)
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	}
	// zero or subnormal: mant * 2^-24, exact in float32
	f := float32(mant) / (1 << 24)
	if sign != 0 {
		f = -f
	}
	return f
}
