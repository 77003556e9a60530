package tensor

import (
	"encoding/binary"
	"math"
)

// Legacy 32-element block formats (all little-endian, f16 scales):
//
//	Q4_0: d f16 | qs[16]          x[j] = d*(lo(qs[j])-8), x[j+16] = d*(hi(qs[j])-8)
//	Q4_1: d f16 | m f16 | qs[16]  x[j] = d*lo(qs[j]) + m,  x[j+16] = d*hi(qs[j]) + m
//	Q5_0: d | qh u32 | qs[16]     5th bit of x[j] is qh bit j, of x[j+16] qh bit j+16; value-16
//	Q5_1: d | m | qh u32 | qs[16] as Q5_0 without the -16, plus m
//	Q8_0: d | qs[32] int8         x[j] = d*qs[j]
//	Q8_1: d | s | qs[32] int8     s = d*sum(qs) (f16), used by the Q4_1/Q5_1 dots
//
// The quantizers mirror ggml's quantize_row_*_ref exactly, in float32 with no
// fused multiply-adds (explicit float32() conversions prevent fusion).

// absMaxSigned returns the element of largest magnitude (first one on ties).
func absMaxSigned(x []float32) float32 {
	var amax, max float32
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, max = a, v
		}
	}
	return max
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

func inv(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// roundAwayInt is C's roundf (nearest, ties away from zero) converted to an
// integer, for |v| < 2^31: adding ±0.5 is exact in float64, then truncate.
func roundAwayInt(v float32) int32 {
	f := float64(v)
	half := math.Float64frombits(math.Float64bits(f)&(1<<63) | math.Float64bits(0.5))
	return int32(f + half)
}

func quantizeQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x, b := src[i*32:i*32+32], dst[i*18:i*18+18]
		d := absMaxSigned(x) / -8
		id := inv(d)
		putHalf(b, d)
		for j := 0; j < 16; j++ {
			q0 := min(15, int8(float32(x[j]*id)+8.5))
			q1 := min(15, int8(float32(x[j+16]*id)+8.5))
			b[2+j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

func quantizeQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x, b := src[i*32:i*32+32], dst[i*20:i*20+20]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		id := inv(d)
		putHalf(b, d)
		putHalf(b[2:], lo)
		for j := 0; j < 16; j++ {
			q0 := min(15, int8(float32((x[j]-lo)*id)+0.5))
			q1 := min(15, int8(float32((x[j+16]-lo)*id)+0.5))
			b[4+j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

func quantizeQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x, b := src[i*32:i*32+32], dst[i*22:i*22+22]
		d := absMaxSigned(x) / -16
		id := inv(d)
		putHalf(b, d)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := uint8(min(31, int8(float32(x[j]*id)+16.5)))
			q1 := uint8(min(31, int8(float32(x[j+16]*id)+16.5)))
			b[6+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4) << j
			qh |= uint32(q1>>4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

func quantizeQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x, b := src[i*32:i*32+32], dst[i*24:i*24+24]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		id := inv(d)
		putHalf(b, d)
		putHalf(b[2:], lo)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := uint8(float32((x[j]-lo)*id) + 0.5)
			q1 := uint8(float32((x[j+16]-lo)*id) + 0.5)
			b[8+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// quantizeQ8 writes Q8_0 (withSum false, 34-byte blocks) or Q8_1 (36-byte
// blocks with s = f16(d*sum(qs))).
func quantizeQ8(src []float32, dst []byte, withSum bool) {
	bs, off := 34, 2
	if withSum {
		bs, off = 36, 4
	}
	for i := 0; i < len(src)/32; i++ {
		x, b := (*[32]float32)(src[i*32:]), dst[i*bs:i*bs+bs]
		var amax float32
		for _, v := range x {
			if a := abs32(v); !(amax > a) { // C's MAX(amax, fabsf(v))
				amax = a
			}
		}
		d := amax / 127
		id := inv(d)
		putHalf(b, d)
		var sum int32
		q := (*[32]byte)(b[off:])
		for j, v := range x {
			qj := int8(roundAwayInt(v * id))
			q[j] = uint8(qj)
			sum += int32(qj)
		}
		if withSum {
			putHalf(b[2:], float32(sum)*d)
		}
	}
}

func dequantizeQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b, y := (*[18]byte)(src[i*18:]), (*[32]float32)(dst[i*32:])
		d := halfAt(b[:])
		for j := 0; j < 16; j++ {
			y[j] = float32(int32(b[2+j]&15)-8) * d
			y[j+16] = float32(int32(b[2+j]>>4)-8) * d
		}
	}
}

func dequantizeQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b, y := (*[20]byte)(src[i*20:]), (*[32]float32)(dst[i*32:])
		d, m := halfAt(b[:]), halfAt(b[2:])
		for j := 0; j < 16; j++ {
			y[j] = float32(float32(b[4+j]&15)*d) + m
			y[j+16] = float32(float32(b[4+j]>>4)*d) + m
		}
	}
}

// q5Values expands the 32 5-bit quants of a Q5_0/Q5_1 block (qh, qs[16]).
func q5Values(qh uint32, qs *[16]byte, out *[32]int32) {
	for j := 0; j < 16; j++ {
		out[j] = int32(qs[j]&15) | int32(qh>>j&1)<<4
		out[j+16] = int32(qs[j]>>4) | int32(qh>>(j+16)&1)<<4
	}
}

func dequantizeQ5_0(src []byte, dst []float32) {
	var q [32]int32
	for i := 0; i < len(dst)/32; i++ {
		b, y := (*[22]byte)(src[i*22:]), (*[32]float32)(dst[i*32:])
		d := halfAt(b[:])
		q5Values(binary.LittleEndian.Uint32(b[2:]), (*[16]byte)(b[6:]), &q)
		for j, v := range q {
			y[j] = float32(v-16) * d
		}
	}
}

func dequantizeQ5_1(src []byte, dst []float32) {
	var q [32]int32
	for i := 0; i < len(dst)/32; i++ {
		b, y := (*[24]byte)(src[i*24:]), (*[32]float32)(dst[i*32:])
		d, m := halfAt(b[:]), halfAt(b[2:])
		q5Values(binary.LittleEndian.Uint32(b[4:]), (*[16]byte)(b[8:]), &q)
		for j, v := range q {
			y[j] = float32(float32(v)*d) + m
		}
	}
}

// dequantizeQ8 handles Q8_0 (bs 34, quants at 2) and Q8_1 (bs 36, quants at 4).
func dequantizeQ8(src []byte, dst []float32, bs, off int) {
	for i := 0; i < len(dst)/32; i++ {
		b, y := src[i*bs:i*bs+bs], (*[32]float32)(dst[i*32:])
		d := halfAt(b)
		q := (*[32]byte)(b[off:])
		for j := range y {
			y[j] = float32(int8(q[j])) * d
		}
	}
}
