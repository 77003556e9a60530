package tensor

import "encoding/binary"

// Dot products of the 32-element block formats against packed Q8_0/Q8_1
// activations. Integer sums per block are exact; the float recipe per block
// is ggml's generic one (ggml_vec_dot_*_q8_*_generic), operation for operation.
//
// Preconditions (checked by MatVec/VecDot): len(w) >= nb*blockBytes and the
// packed activations hold nb blocks.

// nib16 returns Σ over the 16 nibbles of w (bytes qs[k..k+8]) times their
// activations: low nibbles against groups (e0,o0), high nibbles against (e1,o1).
func nib16(w, e0, o0, e1, o1 uint64) int32 {
	return extract16((w&m16)*e0 + (w>>8&m16)*o0 + (w>>4&m16)*e1 + (w>>12&m16)*o1)
}

// The kernels walk w and the packed activations p block by block; the
// number of blocks is len(p)/legacyStride and w must hold as many.

func dotQ4_0(w []byte, p []uint64) float32 {
	var sumf float32
	for len(w) >= 18 && len(p) >= legacyStride {
		b, pp := (*[18]byte)(w), (*[legacyStride]uint64)(p)
		w0, w1 := le64(b[2:]), le64(b[10:])
		dy, _, sum := blockMeta(pp)
		sumi := nib16(w0, pp[0], pp[1], pp[4], pp[5]) + nib16(w1, pp[2], pp[3], pp[6], pp[7]) - 8*sum
		sumf += float32(float32(float32(sumi)*halfAt(b[0:])) * dy)
		w, p = w[18:], p[legacyStride:]
	}
	return sumf
}

func dotQ4_1(w []byte, p []uint64) float32 {
	var sumf float32
	for len(w) >= 20 && len(p) >= legacyStride {
		b, pp := (*[20]byte)(w), (*[legacyStride]uint64)(p)
		w0, w1 := le64(b[4:]), le64(b[12:])
		v0 := (w0&m16)*pp[0] + (w0>>8&m16)*pp[1] + (w0>>4&m16)*pp[4] + (w0>>12&m16)*pp[5]
		v1 := (w1&m16)*pp[2] + (w1>>8&m16)*pp[3] + (w1>>4&m16)*pp[6] + (w1>>12&m16)*pp[7]
		sumi := extract16(v0) + extract16(v1)
		dy, sy, _ := blockMeta(pp)
		dx, mx := halfAt(b[0:]), halfAt(b[2:])
		sumf += float32(float32(dx*dy)*float32(sumi)) + float32(mx*sy)
		w, p = w[20:], p[legacyStride:]
	}
	return sumf
}

// spread5 maps 8 bits to 8 byte lanes holding 0x10 where the bit is set.
var spread5 = func() (t [256]uint64) {
	for b := range t {
		for k := 0; k < 8; k++ {
			if b>>k&1 == 1 {
				t[b] |= 0x10 << (8 * k)
			}
		}
	}
	return t
}()

// q5Block is Σ q_j*y_j over a 32-element block of 5-bit quants (qh, qs[16]).
func q5Block(qh uint32, qs *[16]byte, p *[legacyStride]uint64) int32 {
	w0, w1 := le64(qs[0:]), le64(qs[8:])
	v0 := w0&mNib | spread5[qh&0xff]
	v1 := w1&mNib | spread5[qh>>8&0xff]
	v2 := w0>>4&mNib | spread5[qh>>16&0xff]
	v3 := w1>>4&mNib | spread5[qh>>24]
	s := extract16((v0&mByte)*p[0] + (v0>>8&mByte)*p[1])
	s += extract16((v1&mByte)*p[2] + (v1>>8&mByte)*p[3])
	s += extract16((v2&mByte)*p[4] + (v2>>8&mByte)*p[5])
	return s + extract16((v3&mByte)*p[6]+(v3>>8&mByte)*p[7])
}

func dotQ5_0(w []byte, p []uint64) float32 {
	var sumf float32
	for len(w) >= 22 && len(p) >= legacyStride {
		b, pp := (*[22]byte)(w), (*[legacyStride]uint64)(p)
		dy, _, sum := blockMeta(pp)
		sumi := q5Block(binary.LittleEndian.Uint32(b[2:]), (*[16]byte)(b[6:]), pp) - 16*sum
		sumf += float32(float32(halfAt(b[0:])*dy) * float32(sumi))
		w, p = w[22:], p[legacyStride:]
	}
	return sumf
}

func dotQ5_1(w []byte, p []uint64) float32 {
	var sumf float32
	for len(w) >= 24 && len(p) >= legacyStride {
		b, pp := (*[24]byte)(w), (*[legacyStride]uint64)(p)
		dy, sy, _ := blockMeta(pp)
		sumi := q5Block(binary.LittleEndian.Uint32(b[4:]), (*[16]byte)(b[8:]), pp)
		dx, mx := halfAt(b[0:]), halfAt(b[2:])
		sumf += float32(float32(dx*dy)*float32(sumi)) + float32(mx*sy)
		w, p = w[24:], p[legacyStride:]
	}
	return sumf
}

// dotQ8_0 splits every int8 weight w into the two nibbles of w+128, so that
// Σ w*y = 16*Σ hi*y + Σ lo*y - 128*Σ y, each part a 4-bit SWAR product.
func dotQ8_0(w []byte, p []uint64) float32 {
	const flip = 0x8080808080808080
	var sumf float32
	for len(w) >= 34 && len(p) >= legacyStride {
		b, pp := (*[34]byte)(w), (*[legacyStride]uint64)(p)
		w0, w1 := le64(b[2:])^flip, le64(b[10:])^flip
		w2, w3 := le64(b[18:])^flip, le64(b[26:])^flip
		lo := extract16((w0&m16)*pp[0] + (w0>>8&m16)*pp[1] + (w1&m16)*pp[2] + (w1>>8&m16)*pp[3])
		hi := extract16((w0>>4&m16)*pp[0] + (w0>>12&m16)*pp[1] + (w1>>4&m16)*pp[2] + (w1>>12&m16)*pp[3])
		lo += extract16((w2&m16)*pp[4] + (w2>>8&m16)*pp[5] + (w3&m16)*pp[6] + (w3>>8&m16)*pp[7])
		hi += extract16((w2>>4&m16)*pp[4] + (w2>>12&m16)*pp[5] + (w3>>4&m16)*pp[6] + (w3>>12&m16)*pp[7])
		dy, _, sum := blockMeta(pp)
		sumi := 16*hi + lo - 128*sum
		sumf += float32(float32(sumi) * float32(halfAt(b[0:])*dy))
		w, p = w[34:], p[legacyStride:]
	}
	return sumf
}
