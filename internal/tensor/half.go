package tensor

import (
	"encoding/binary"
	"math"
)

// f16Table maps every IEEE binary16 bit pattern to its float32 value
// (256 KiB, built once at init; the conversion is exact).
var f16Table = buildF16Table()

func buildF16Table() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = f16ToF32Slow(uint16(h))
	}
	return t
}

// f16ToF32Slow converts by bit manipulation; used to build f16Table.
func f16ToF32Slow(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN: keep the payload (quiet bit included).
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: mant * 2^-24, exact in float32.
	v := float32(mant) * (1.0 / (1 << 24))
	return math.Float32frombits(sign | math.Float32bits(v))
}

// F16ToF32 converts an IEEE binary16 value (ggml_fp16_t) to float32 exactly.
func F16ToF32(h uint16) float32 { return f16Table[h] }

// F32ToF16 converts float32 to IEEE binary16 with round-to-nearest-even, as
// x86 F16C's vcvtps2ph with rounding mode 0 (what GGML_FP32_TO_FP16 uses on
// x86): overflow gives ±Inf, NaN stays NaN with the quiet bit set and the top
// mantissa bits kept.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e >= 1 {
		r := uint32(e)<<10 | mant>>13
		rem := mant & 0x1fff
		if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
			r++ // a carry into the exponent is correct, up to Inf
		}
		return sign | uint16(r)
	}
	// Result is subnormal (or zero): units of 2^-24.
	shift := uint(14 - e)
	if shift > 24 {
		return sign
	}
	m := mant | 0x800000
	r := m >> shift
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// BF16ToF32 converts a bfloat16 value to float32 exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts float32 to bfloat16 like ggml_compute_fp32_to_bf16:
// round-to-nearest-even, NaN forced quiet (payload top bits kept),
// subnormals kept (not flushed).
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// le16 reads a little-endian uint16 (a ggml_half) at b[0:2].
func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

// halfAt reads the f16 at b[0:2] as float32.
func halfAt(b []byte) float32 { return f16Table[binary.LittleEndian.Uint16(b)] }

// putHalf stores f as f16 at b[0:2].
func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }
