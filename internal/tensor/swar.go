package tensor

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"
)

// SWAR integer dot products (pure Go, no assembly).
//
// One 64-bit multiply computes a 4-element dot product: with weights in the
// four 16-bit lanes of a, a = Σ a_i·2^(16i), and activations packed in
// reverse lane order, b = Σ y_i·2^(16(3-i)) (as a signed integer sum), the
// coefficient of 2^48 in a*b mod 2^64 is Σ a_i·y_i. Lower coefficients are
// partial sums that never carry into lane 3 as long as every coefficient stays
// below 2^15 in magnitude; extract16 then recovers the lane exactly. With
// |y| <= 128 this allows 16 products of 4-bit unsigned weights, 8 of 5-bit and
// 4 of 6-bit per extraction; the kernels respect those limits.
//
// Activations are packed once per MatVec: every 8 consecutive int8 quants
// y[8g..8g+7] become two words, even lanes (y0,y2,y4,y6) and odd lanes
// (y1,y3,y5,y7). A little-endian uint64 w of 8 weight bytes matches them
// directly: w&m16 holds the low nibbles of bytes 0,2,4,6, w>>8&m16 those of
// bytes 1,3,5,7, and w>>4, w>>12 the high nibbles.

const (
	m16   = 0x000F000F000F000F // low nibble of every 16-bit lane
	mByte = 0x00FF00FF00FF00FF // low byte of every 16-bit lane
	mNib  = 0x0F0F0F0F0F0F0F0F
	bias  = 1 << 47
)

// extract16 returns lane 3 of an accumulated SWAR product (see above).
func extract16(v uint64) int32 { return int32(int64(v+bias) >> 48) }

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// flip80 maps int8 y to the unsigned byte y+128; k128 is 128 in every lane.
const (
	flip80 = 0x8080808080808080
	k128   = 0x0080008000800080
)

// packWord packs the 8 int8 quants of little-endian u into the even/odd
// reversed-lane words: with bytes biased to y+128, masking picks the even
// (odd) bytes into 16-bit lanes, a byte swap reverses the lanes, and
// subtracting 128 per lane restores the signed values.
func packWord(u uint64) (even, odd uint64) {
	u ^= flip80
	even = bits.ReverseBytes64(u&mByte)>>8 - k128
	odd = bits.ReverseBytes64(u>>8&mByte)>>8 - k128
	return even, odd
}

// dotBytes returns Σ v_k·y_k for 8 unsigned byte lanes v (each < 64) against
// one packed group; at most 4 products per extraction keep it exact.
func dotBytes(v, even, odd uint64) int32 {
	return extract16((v&mByte)*even) + extract16((v>>8&mByte)*odd)
}

// Per 32-element block of a packed Q8_0/Q8_1 row: 8 group words, then the
// scales d and s (float32 bits, low and high half) and the quant sum.
const legacyStride = 10

// packed is an activation vector prepared for the SWAR kernels.
type packed struct {
	p []uint64  // legacy: legacyStride words per block; Q8_K: 64 per block
	f []float32 // float activations (F16/BF16/F32 weights)
}

var packedPool = sync.Pool{New: func() any { return new(packed) }}

func getPacked() *packed  { return packedPool.Get().(*packed) }
func putPacked(a *packed) { packedPool.Put(a) }

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// pack32 packs 32 int8 quants into p and returns their sum.
func pack32(q *[32]byte, p *[8]uint64) int32 {
	u0, u1, u2, u3 := le64(q[0:]), le64(q[8:]), le64(q[16:]), le64(q[24:])
	p[0], p[1] = packWord(u0)
	p[2], p[3] = packWord(u1)
	p[4], p[5] = packWord(u2)
	p[6], p[7] = packWord(u3)
	// Lane sums of the biased bytes (each lane < 2^11), then a horizontal add.
	u0, u1, u2, u3 = u0^flip80, u1^flip80, u2^flip80, u3^flip80
	l := (u0&mByte + u0>>8&mByte) + (u1&mByte + u1>>8&mByte) +
		(u2&mByte + u2>>8&mByte) + (u3&mByte + u3>>8&mByte)
	return int32(l*0x0001000100010001>>48) - 32*128
}

// packQ8 packs nb Q8_0 (withS false) or Q8_1 (withS true) blocks of x into
// p (nb*legacyStride words).
func packQ8(x []byte, nb int, withS bool, p []uint64) {
	bs, off := 34, 2
	if withS {
		bs, off = 36, 4
	}
	for i := 0; i < nb; i++ {
		b, pb := x[i*bs:i*bs+bs], p[i*legacyStride:(i+1)*legacyStride]
		var s float32
		if withS {
			s = halfAt(b[2:])
		}
		sum := pack32((*[32]byte)(b[off:]), (*[8]uint64)(pb))
		pb[8] = uint64(math.Float32bits(halfAt(b))) | uint64(math.Float32bits(s))<<32
		pb[9] = uint64(sum)
	}
}

// blockMeta unpacks the scales and quant sum of a packed legacy block.
func blockMeta(p *[legacyStride]uint64) (d, s float32, sum int32) {
	return math.Float32frombits(uint32(p[8])), math.Float32frombits(uint32(p[8] >> 32)), int32(p[9])
}

// packQ8K packs the quants of nb Q8_K blocks of x into p (nb*64 words); the
// kernels read scales and bsums from x itself.
func packQ8K(x []byte, nb int, p []uint64) {
	for i := 0; i < nb*8; i++ {
		pack32((*[32]byte)(x[i/8*292+4+i%8*32:]), (*[8]uint64)(p[8*i:]))
	}
}
