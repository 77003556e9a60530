package tensor

import (
	"encoding/binary"
	"math"
	"testing"
)

// Hand-built blocks with known scales and quants. Expected values come from
// the format definitions (written out here independently of the decoders),
// plus literal spot values computed by hand.

type knownBlock struct {
	t     DType
	block []byte
	want  func(e int) float32
	spots map[int]float32
}

func f16b(v float32) []byte { return binary.LittleEndian.AppendUint16(nil, F32ToF16(v)) }

func seqBytes(n, mul, add int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*mul + add)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func nibble(qs []byte, e int) int {
	if e < 16 {
		return int(qs[e] & 15)
	}
	return int(qs[e-16] >> 4)
}

func legacyKnown() []knownBlock {
	qs := seqBytes(16, 37, 11)
	qh := []byte{0x55, 0xaa, 0x0f, 0xf0} // little-endian 0xf00faa55
	bit := func(e int) int { return int(binary.LittleEndian.Uint32(qh) >> e & 1) }
	q8 := seqBytes(32, 8, 128) // int8: 8j-128
	return []knownBlock{
		{Q4_0, cat(f16b(0.5), qs), func(e int) float32 { return float32(nibble(qs, e)-8) * 0.5 },
			map[int]float32{0: 1.5, 16: -4, 15: -1}}, // qs[0]=0x0b, qs[15]=0x36
		{Q4_1, cat(f16b(0.25), f16b(-1), qs), func(e int) float32 { return float32(nibble(qs, e))*0.25 - 1 },
			map[int]float32{0: 1.75, 16: -1}},
		{Q5_0, cat(f16b(1), qh, qs), func(e int) float32 { return float32(nibble(qs, e) + 16*bit(e) - 16) },
			map[int]float32{0: 11, 1: -16, 16: 0}},
		{Q5_1, cat(f16b(0.5), f16b(2), qh, qs), func(e int) float32 { return float32(nibble(qs, e)+16*bit(e))*0.5 + 2 },
			map[int]float32{0: 15.5, 16: 10}},
		{Q8_0, cat(f16b(0.125), q8), func(e int) float32 { return float32(e) - 16 },
			map[int]float32{0: -16, 31: 15}},
		{Q8_1, cat(f16b(2), f16b(-7), q8), func(e int) float32 { return 2 * float32(8*e-128) },
			map[int]float32{0: -256, 16: 0}},
	}
}

// kScaleBytes packs 6-bit scales and mins by the Q4_K/Q5_K definition.
func kScaleBytes(sc, mn [8]uint8) []byte {
	b := make([]byte, 12)
	for j := 0; j < 4; j++ {
		b[j] = sc[j] | (sc[j+4]>>4)<<6
		b[j+4] = mn[j] | (mn[j+4]>>4)<<6
		b[j+8] = sc[j+4]&15 | (mn[j+4]&15)<<4
	}
	return b
}

func kKnown() []knownBlock {
	sc := [8]uint8{1, 2, 63, 40, 17, 33, 5, 48}
	mn := [8]uint8{0, 7, 60, 21, 34, 1, 63, 16}
	qs := seqBytes(128, 7, 3)
	qh := seqBytes(32, 29, 5)
	q4 := func(e int) int {
		b := qs[32*(e/64)+e%32]
		if e%64 >= 32 {
			return int(b >> 4)
		}
		return int(b & 15)
	}
	q5 := func(e int) int { return q4(e) + 16*int(qh[e%32]>>(e/32)&1) }
	kmin := func(q int, e int) float32 { return float32(int(sc[e/32])*q) - 0.5*float32(mn[e/32]) }
	ql6, qh6 := seqBytes(128, 13, 1), seqBytes(64, 57, 9)
	sc6 := []byte{0x80, 0x7f, 0xff, 5, 9, 0xf0, 33, 1, 2, 3, 0xc0, 100, 7, 0x81, 64, 11}
	q6 := func(e int) int {
		n, l, kind := e/128, e%32, e%128/32
		b := ql6[64*n+l+32*(kind&1)]
		lo := int(b & 15)
		if kind >= 2 {
			lo = int(b >> 4)
		}
		return lo | int(qh6[32*n+l]>>(2*kind)&3)<<4
	}
	q8k := seqBytes(256, 1, 128) // int8: e-128
	return []knownBlock{
		{Q4_K, cat(f16b(1), f16b(0.5), kScaleBytes(sc, mn), qs), func(e int) float32 { return kmin(q4(e), e) },
			map[int]float32{0: 3, 32: -3.5, 64: 159}},
		{Q5_K, cat(f16b(1), f16b(0.5), kScaleBytes(sc, mn), qh, qs), func(e int) float32 { return kmin(q5(e), e) },
			map[int]float32{0: 19, 32: -3.5}},
		{Q6_K, cat(ql6, qh6, sc6, f16b(0.25)), func(e int) float32 {
			return 0.25 * float32(int8(sc6[e/16])) * float32(q6(e)-32)
		}, map[int]float32{0: 480}},
		{Q8_K, cat(binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.5)), q8k, make([]byte, 32)),
			func(e int) float32 { return 0.5 * float32(e-128) }, map[int]float32{0: -64, 255: 63.5}},
	}
}

func floatKnown() []knownBlock {
	vals := []float32{0, 1, -2.5, 65504, 1.0 / (1 << 24), float32(math.Inf(-1))}
	var f32b, f16bs, bf16b []byte
	for _, v := range vals {
		f32b = binary.LittleEndian.AppendUint32(f32b, math.Float32bits(v))
		f16bs = binary.LittleEndian.AppendUint16(f16bs, F32ToF16(v))
		bf16b = binary.LittleEndian.AppendUint16(bf16b, uint16(math.Float32bits(v)>>16))
	}
	bf := func(e int) float32 { return math.Float32frombits(math.Float32bits(vals[e]) &^ 0xffff) }
	return []knownBlock{
		{F32, f32b, func(e int) float32 { return vals[e] }, nil},
		{F16, f16bs, func(e int) float32 { return vals[e] }, nil},
		{BF16, bf16b, bf, map[int]float32{2: -2.5, 3: 65280}},
	}
}

func TestDequantizeKnownBlocks(t *testing.T) {
	cases := append(append(legacyKnown(), kKnown()...), floatKnown()...)
	for _, kb := range cases {
		t.Run(kb.t.String(), func(t *testing.T) {
			if len(kb.block)%kb.t.BlockBytes() != 0 {
				t.Fatalf("test block has %d bytes, block is %d", len(kb.block), kb.t.BlockBytes())
			}
			n := len(kb.block) / kb.t.BlockBytes() * kb.t.BlockSize()
			got := make([]float32, n)
			if err := DequantizeRow(kb.t, kb.block, got); err != nil {
				t.Fatal(err)
			}
			for e, g := range got {
				if want := kb.want(e); g != want {
					t.Fatalf("element %d = %v, want %v", e, g, want)
				}
			}
			for e, want := range kb.spots {
				if got[e] != want {
					t.Errorf("spot element %d = %v, want %v", e, got[e], want)
				}
			}
		})
	}
}
