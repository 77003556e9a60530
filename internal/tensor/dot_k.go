package tensor

import "encoding/binary"

// Dot products of the K-quants against Q8_K activations (packed words in p,
// scales and bsums read from the raw Q8_K row x). As in ggml, the integer sum
// of each super-block is exact, the Q4_K/Q5_K min term uses the Q8_K bsums,
// and the float work per super-block is d*isum (- dmin*summs).
//
// Preconditions (checked by MatVec/VecDot): w holds nb super-blocks, x and p
// nb Q8_K blocks, nb = len(p)/64.

const lsb8 = 0x0101010101010101

// kScales unpacks the 8 6-bit scales and mins of a Q4_K/Q5_K block
// (the word-wise form of get_scale_min_k4), one per byte.
func kScales(q *[12]byte) (sc, mn uint64) {
	const k1, k2, k3 = 0x3f3f3f3f, 0x0f0f0f0f, 0x03030303
	u0 := binary.LittleEndian.Uint32(q[0:])
	u1 := binary.LittleEndian.Uint32(q[4:])
	u2 := binary.LittleEndian.Uint32(q[8:])
	s0, m0 := u0&k1, u1&k1
	s1 := u2&k2 | (u0>>6&k3)<<4
	m1 := u2>>4&k2 | (u1>>6&k3)<<4
	return uint64(s0) | uint64(s1)<<32, uint64(m0) | uint64(m1)<<32
}

// minTerm is Σ_j bsums[j]*mins[j/2] over the 16 bsums of a Q8_K block.
func minTerm(xb *[292]byte, mn uint64) int32 {
	var s int32
	for j := 0; j < 8; j++ {
		b0 := int32(int16(binary.LittleEndian.Uint16(xb[260+4*j:])))
		b1 := int32(int16(binary.LittleEndian.Uint16(xb[262+4*j:])))
		s += (b0 + b1) * int32(mn>>(8*j)&0xff)
	}
	return s
}

func q8KScale(xb *[292]byte) float32 { return f32le(xb[0:]) }

// q4kChunk returns the sums of 64 elements: low nibbles of q (scale 2c) and
// high nibbles (scale 2c+1) against groups p[0:8] and p[8:16].
func q4kChunk(q *[32]byte, p *[16]uint64) (lo, hi int32) {
	w0, w1, w2, w3 := le64(q[0:]), le64(q[8:]), le64(q[16:]), le64(q[24:])
	lo = extract16((w0&m16)*p[0] + (w0>>8&m16)*p[1] + (w1&m16)*p[2] + (w1>>8&m16)*p[3])
	lo += extract16((w2&m16)*p[4] + (w2>>8&m16)*p[5] + (w3&m16)*p[6] + (w3>>8&m16)*p[7])
	hi = extract16((w0>>4&m16)*p[8] + (w0>>12&m16)*p[9] + (w1>>4&m16)*p[10] + (w1>>12&m16)*p[11])
	hi += extract16((w2>>4&m16)*p[12] + (w2>>12&m16)*p[13] + (w3>>4&m16)*p[14] + (w3>>12&m16)*p[15])
	return lo, hi
}

func dotQ4K(w, x []byte, p []uint64) float32 {
	nb := len(p) / 64
	w, x = w[:nb*144], x[:nb*292]
	var sumf float32
	for i := 0; i < nb; i++ {
		b, xb := (*[144]byte)(w[i*144:]), (*[292]byte)(x[i*292:])
		pp := (*[64]uint64)(p[i*64:])
		sc, mn := kScales((*[12]byte)(b[4:]))
		var isum int32
		for c := 0; c < 4; c++ {
			lo, hi := q4kChunk((*[32]byte)(b[16+32*c:]), (*[16]uint64)(pp[16*c:]))
			isum += lo*int32(sc>>(16*c)&0xff) + hi*int32(sc>>(16*c+8)&0xff)
		}
		dy := q8KScale(xb)
		d, dmin := halfAt(b[0:])*dy, halfAt(b[2:])*dy
		sumf += float32(d*float32(isum)) - float32(dmin*float32(minTerm(xb, mn)))
	}
	return sumf
}

// q5kChunk is q4kChunk for Q5_K: the 5th bits come from qh bits shift, shift+1.
func q5kChunk(q, qh *[32]byte, shift uint, p *[16]uint64) (lo, hi int32) {
	for k := 0; k < 32; k += 8 {
		w, h := le64(q[k:]), le64(qh[k:])>>shift
		vl := w&mNib | (h&lsb8)<<4
		vh := w>>4&mNib | (h>>1&lsb8)<<4
		pl, ph := (*[2]uint64)(p[k/4:]), (*[2]uint64)(p[8+k/4:])
		lo += extract16((vl&mByte)*pl[0] + (vl>>8&mByte)*pl[1])
		hi += extract16((vh&mByte)*ph[0] + (vh>>8&mByte)*ph[1])
	}
	return lo, hi
}

func dotQ5K(w, x []byte, p []uint64) float32 {
	nb := len(p) / 64
	w, x = w[:nb*176], x[:nb*292]
	var sumf float32
	for i := 0; i < nb; i++ {
		b, xb := (*[176]byte)(w[i*176:]), (*[292]byte)(x[i*292:])
		pp := (*[64]uint64)(p[i*64:])
		sc, mn := kScales((*[12]byte)(b[4:]))
		qh := (*[32]byte)(b[16:])
		var isum int32
		for c := 0; c < 4; c++ {
			lo, hi := q5kChunk((*[32]byte)(b[48+32*c:]), qh, uint(2*c), (*[16]uint64)(pp[16*c:]))
			isum += lo*int32(sc>>(16*c)&0xff) + hi*int32(sc>>(16*c+8)&0xff)
		}
		dy := q8KScale(xb)
		d, dmin := halfAt(b[0:])*dy, halfAt(b[2:])*dy
		sumf += float32(d*float32(isum)) - float32(dmin*float32(minTerm(xb, mn)))
	}
	return sumf
}

// q6kChunk adds the raw sums Σ q*y (q unsigned 6-bit) of the 128 elements of
// chunk n to raw[8n:8n+8], one per 16-element sub-block.
func q6kChunk(ql *[64]byte, qh *[32]byte, p *[32]uint64, raw *[8]int32) {
	const m2 = 0x0303030303030303
	for k := 0; k < 4; k++ {
		l1, l2, h := le64(ql[8*k:]), le64(ql[32+8*k:]), le64(qh[8*k:])
		v1 := l1&mNib | (h&m2)<<4
		v2 := l2&mNib | (h>>2&m2)<<4
		v3 := l1>>4&mNib | (h>>4&m2)<<4
		v4 := l2>>4&mNib | (h>>6&m2)<<4
		g := (*[26]uint64)(p[2*k:])
		raw[k/2] += dotBytes(v1, g[0], g[1])
		raw[2+k/2] += dotBytes(v2, g[8], g[9])
		raw[4+k/2] += dotBytes(v3, g[16], g[17])
		raw[6+k/2] += dotBytes(v4, g[24], g[25])
	}
}

func dotQ6K(w, x []byte, p []uint64) float32 {
	nb := len(p) / 64
	w, x = w[:nb*210], x[:nb*292]
	var sumf float32
	for i := 0; i < nb; i++ {
		b, xb := (*[210]byte)(w[i*210:]), (*[292]byte)(x[i*292:])
		pp := (*[64]uint64)(p[i*64:])
		var raw [16]int32
		q6kChunk((*[64]byte)(b[0:]), (*[32]byte)(b[128:]), (*[32]uint64)(pp[0:]), (*[8]int32)(raw[0:]))
		q6kChunk((*[64]byte)(b[64:]), (*[32]byte)(b[160:]), (*[32]uint64)(pp[32:]), (*[8]int32)(raw[8:]))
		var isum int32
		for j, r := range raw {
			bs := int32(int16(binary.LittleEndian.Uint16(xb[260+2*j:])))
			isum += int32(int8(b[192+j])) * (r - 32*bs)
		}
		sumf += float32(halfAt(b[208:])*q8KScale(xb)) * float32(isum)
	}
	return sumf
}
