package tensor

import (
	"encoding/binary"
	"math"
)

// Float dot products. The activation row is converted to float32 once per
// MatVec (packed.f); each weight row is then read and converted element by
// element. Accumulation is float32 in 4 independent accumulators (lane l
// takes the elements i ≡ l mod 4) summed pairwise at the end, like ggml's
// SIMD paths rather than its float64 generic fallback. (8 lanes spill on
// amd64 and are no faster.)

func f32le(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

func dotF32(w []byte, x []float32) float32 {
	var s0, s1, s2, s3 float32
	for len(w) >= 32 && len(x) >= 8 {
		b, y := (*[32]byte)(w), (*[8]float32)(x)
		s0 += float32(f32le(b[0:]) * y[0])
		s1 += float32(f32le(b[4:]) * y[1])
		s2 += float32(f32le(b[8:]) * y[2])
		s3 += float32(f32le(b[12:]) * y[3])
		s0 += float32(f32le(b[16:]) * y[4])
		s1 += float32(f32le(b[20:]) * y[5])
		s2 += float32(f32le(b[24:]) * y[6])
		s3 += float32(f32le(b[28:]) * y[7])
		w, x = w[32:], x[8:]
	}
	for i := range x {
		s0 += float32(f32le(w[4*i:]) * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func dotF16(w []byte, x []float32) float32 {
	t := f16Table
	var s0, s1, s2, s3 float32
	for len(w) >= 16 && len(x) >= 8 {
		b, y := (*[16]byte)(w), (*[8]float32)(x)
		u0, u1 := binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint64(b[8:])
		s0 += float32(t[uint16(u0)] * y[0])
		s1 += float32(t[uint16(u0>>16)] * y[1])
		s2 += float32(t[uint16(u0>>32)] * y[2])
		s3 += float32(t[uint16(u0>>48)] * y[3])
		s0 += float32(t[uint16(u1)] * y[4])
		s1 += float32(t[uint16(u1>>16)] * y[5])
		s2 += float32(t[uint16(u1>>32)] * y[6])
		s3 += float32(t[uint16(u1>>48)] * y[7])
		w, x = w[16:], x[8:]
	}
	for i := range x {
		s0 += float32(t[binary.LittleEndian.Uint16(w[2*i:])] * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func dotBF16(w []byte, x []float32) float32 {
	lo := func(u uint32) float32 { return math.Float32frombits(u << 16) }
	hi := func(u uint32) float32 { return math.Float32frombits(u &^ 0xffff) }
	var s0, s1, s2, s3 float32
	for len(w) >= 16 && len(x) >= 8 {
		b, y := (*[16]byte)(w), (*[8]float32)(x)
		u0, u1 := binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:])
		u2, u3 := binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])
		s0 += float32(lo(u0) * y[0])
		s1 += float32(hi(u0) * y[1])
		s2 += float32(lo(u1) * y[2])
		s3 += float32(hi(u1) * y[3])
		s0 += float32(lo(u2) * y[4])
		s1 += float32(hi(u2) * y[5])
		s2 += float32(lo(u3) * y[6])
		s3 += float32(hi(u3) * y[7])
		w, x = w[16:], x[8:]
	}
	for i := range x {
		s0 += float32(BF16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}
