package tensor

import (
	"encoding/binary"
	"math"
)

// K-quant super-blocks of 256 elements (little-endian):
//
//	Q4_K (144 B): d f16 | dmin f16 | scales[12] | qs[128]
//	Q5_K (176 B): d f16 | dmin f16 | scales[12] | qh[32] | qs[128]
//	Q6_K (210 B): ql[128] | qh[64] | scales[16] int8 | d f16
//	Q8_K (292 B): d f32 | qs[256] int8 | bsums[16] int16 (sum of each 16 quants)
//
// Q4_K/Q5_K: 8 sub-blocks of 32 with 6-bit scale sc and min m packed in
// scales[12] (see scaleMinK4); x = d*sc*q - dmin*m. Elements 64c..64c+31 are
// the low nibbles of qs[32c..32c+31], elements 64c+32.. the high nibbles; Q5_K
// adds bit 2c (low half) / 2c+1 (high half) of qh[l] as the 5th bit.
// Q6_K: 16 sub-blocks of 16 with int8 scales; x = d*sc*(q-32), q 6 bits.

const qkK = 256

// scaleMinK4 unpacks the 6-bit scale and min of sub-block j (ggml's get_scale_min_k4).
func scaleMinK4(j int, q *[12]byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// putScaleMinK4 packs sub-block j's 6-bit scale and min; call for j = 0..7 in order.
func putScaleMinK4(j int, q *[12]byte, ls, lm uint8) {
	if j < 4 {
		q[j], q[j+4] = ls, lm
		return
	}
	q[j+4] = ls&0xf | (lm&0xf)<<4
	q[j-4] |= (ls >> 4) << 6
	q[j] |= (lm >> 4) << 6
}

// quantizeKMin runs the scale/min part of quantize_row_q4_K_ref /
// quantize_row_q5_K_ref on one super-block x: it writes d, dmin and scales
// into b[0:16] and leaves the final levels in L.
func quantizeKMin(x []float32, p kx2Params, rmin float32, b []byte, L *[qkK]uint8) {
	var scales, mins [8]float32
	var weights [32]float32
	var laux [32]uint8
	var maxScale, maxMin float32
	p.rmin = rmin
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(p, xs, weights[:], L[32*j:32*j+32], laux[:])
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := (*[12]byte)(b[4:16])
	for j := 0; j < 8; j++ {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		putScaleMinK4(j, sc, ls, lm)
	}
	putHalf(b, maxScale/63)
	putHalf(b[2:], maxMin/63)
	requantizeKMin(x, p.nmax, b, L)
}

// requantizeKMin recomputes the levels from the stored (f16, 6-bit) scales.
func requantizeKMin(x []float32, nmax int32, b []byte, L *[qkK]uint8) {
	dAll, mAll := halfAt(b), halfAt(b[2:])
	sc := (*[12]byte)(b[4:16])
	for j := 0; j < 8; j++ {
		s, m := scaleMinK4(j, sc)
		d := dAll * float32(s)
		if d == 0 {
			continue
		}
		dm := mAll * float32(m)
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clampI32(nearestInt((x[32*j+ii]+dm)/d), 0, nmax))
		}
	}
}

func quantizeQ4K(src []float32, dst []byte) {
	var L [qkK]uint8
	p := kx2Params{nmax: 15, rdelta: 0.1, nstep: 20}
	for i := 0; i < len(src)/qkK; i++ {
		x, b := src[i*qkK:(i+1)*qkK], dst[i*144:(i+1)*144]
		quantizeKMin(x, p, -1, b, &L)
		q := b[16:144]
		for j := 0; j < qkK; j += 64 {
			for l := 0; l < 32; l++ {
				q[j/2+l] = L[j+l] | L[j+l+32]<<4
			}
		}
	}
}

func quantizeQ5K(src []float32, dst []byte) {
	var L [qkK]uint8
	p := kx2Params{nmax: 31, rdelta: 0.1, nstep: 15}
	for i := 0; i < len(src)/qkK; i++ {
		x, b := src[i*qkK:(i+1)*qkK], dst[i*176:(i+1)*176]
		quantizeKMin(x, p, -0.5, b, &L)
		qh, ql := b[16:48], b[48:176]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < qkK; n += 64 {
			for j := 0; j < 32; j++ {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[n/2+j] = l1 | l2<<4
			}
			m1, m2 = m1<<2, m2<<2
		}
	}
}

func dequantizeQ4K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := (*[144]byte)(src[i*144:]), (*[qkK]float32)(dst[i*qkK:])
		d, dmin := halfAt(b[0:]), halfAt(b[2:])
		sc := (*[12]byte)(b[4:16])
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			d1, mm1 := d*float32(s1), dmin*float32(m1)
			d2, mm2 := d*float32(s2), dmin*float32(m2)
			for l := 0; l < 32; l++ {
				q := b[16+32*c+l]
				y[64*c+l] = float32(d1*float32(q&15)) - mm1
				y[64*c+32+l] = float32(d2*float32(q>>4)) - mm2
			}
		}
	}
}

func dequantizeQ5K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := (*[176]byte)(src[i*176:]), (*[qkK]float32)(dst[i*qkK:])
		d, dmin := halfAt(b[0:]), halfAt(b[2:])
		sc, qh := (*[12]byte)(b[4:16]), (*[32]byte)(b[16:48])
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			d1, mm1 := d*float32(s1), dmin*float32(m1)
			d2, mm2 := d*float32(s2), dmin*float32(m2)
			for l := 0; l < 32; l++ {
				q := b[48+32*c+l]
				h := qh[l] >> (2 * c)
				y[64*c+l] = float32(d1*float32(q&15|(h&1)<<4)) - mm1
				y[64*c+32+l] = float32(d2*float32(q>>4|(h&2)<<3)) - mm2
			}
		}
	}
}

// quantizeQ6K is quantize_row_q6_K_ref.
func quantizeQ6K(src []float32, dst []byte) {
	var L [qkK]int8
	var scales [16]float32
	for i := 0; i < len(src)/qkK; i++ {
		x, b := src[i*qkK:(i+1)*qkK], dst[i*210:(i+1)*210]
		var maxScale, maxAbs float32
		for ib := 0; ib < 16; ib++ {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := abs32(s); a > maxAbs {
				maxAbs, maxScale = a, s
			}
		}
		clear(b)
		if maxAbs < groupMaxEps {
			continue
		}
		iscale := -128 / maxScale
		putHalf(b[208:], 1/iscale)
		for ib := 0; ib < 16; ib++ {
			b[192+ib] = uint8(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		requantizeQ6K(x, b, &L)
		packQ6K(&L, b)
	}
}

func requantizeQ6K(x []float32, b []byte, L *[qkK]int8) {
	dAll := halfAt(b[208:])
	for j := 0; j < 16; j++ {
		d := dAll * float32(int8(b[192+j]))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampI32(nearestInt(x[16*j+ii]/d), -32, 31) + 32)
		}
	}
}

func packQ6K(L *[qkK]int8, b []byte) {
	for j := 0; j < qkK; j += 128 {
		ql, qh := b[j/2:j/2+64], b[128+j/4:128+j/4+32]
		for l := 0; l < 32; l++ {
			q1, q2 := uint8(L[j+l]), uint8(L[j+l+32])
			q3, q4 := uint8(L[j+l+64]), uint8(L[j+l+96])
			ql[l] = q1&15 | (q3&15)<<4
			ql[l+32] = q2&15 | (q4&15)<<4
			qh[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
}

func dequantizeQ6K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := (*[210]byte)(src[i*210:]), (*[qkK]float32)(dst[i*qkK:])
		d := halfAt(b[208:])
		for n := 0; n < 2; n++ {
			ql, qh := b[64*n:64*n+64], b[128+32*n:128+32*n+32]
			sc := b[192+8*n : 192+8*n+8]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&15|(qh[l]&3)<<4) - 32
				q2 := int32(ql[l+32]&15|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				y[128*n+l] = d * float32(int8(sc[is])) * float32(q1)
				y[128*n+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[128*n+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[128*n+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
		}
	}
}

// quantizeQ8K is quantize_row_q8_K_ref (an all-zero block gets zero bsums).
func quantizeQ8K(src []float32, dst []byte) {
	for i := 0; i < len(src)/qkK; i++ {
		x, b := src[i*qkK:(i+1)*qkK], dst[i*292:(i+1)*292]
		var max, amax float32
		for _, v := range x {
			if a := abs32(v); a > amax {
				amax, max = a, v
			}
		}
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / max
		for j, v := range x {
			b[4+j] = uint8(int8(min(127, nearestInt(iscale*v))))
		}
		for j := 0; j < 16; j++ {
			var sum int32
			for _, q := range b[4+16*j : 4+16*j+16] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(b[260+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}

func dequantizeQ8K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := (*[292]byte)(src[i*292:]), (*[qkK]float32)(dst[i*qkK:])
		d := math.Float32frombits(binary.LittleEndian.Uint32(b[:]))
		for j := range y {
			y[j] = d * float32(int8(b[4+j]))
		}
	}
}
