package tensor

import (
	"encoding/binary"
	"math"
)

// Scalar references for the dot-product kernels.
//
// vecDotRef dequantizes both sides and accumulates in float64: the numeric
// ground truth. genericDot follows ggml's scalar vec_dot recipes literally
// (element by element integer products, the same float work per block), so a
// fast kernel must equal it bit for bit.

func vecDotRef(t DType, n int, w, x []byte) float64 {
	wf, xf := make([]float32, n), make([]float32, n)
	if err := DequantizeRow(t, w, wf); err != nil {
		panic(err)
	}
	if err := DequantizeRow(VecDotType(t), x, xf); err != nil {
		panic(err)
	}
	var s float64
	for i := range wf {
		s += float64(wf[i]) * float64(xf[i])
	}
	if VecDotType(t) == Q8_1 {
		// ggml's recipe uses the stored s = f16(d*Σq) for the m term, not
		// Σ of the dequantized activations; use the same (exact) input here.
		for i := 0; i < n/32; i++ {
			var sumX float64
			for _, v := range xf[i*32 : (i+1)*32] {
				sumX += float64(v)
			}
			m, sy := float64(halfAt(w[i*t.BlockBytes()+2:])), float64(halfAt(x[i*36+2:]))
			s += m * (sy - sumX)
		}
	}
	return s
}

// genericDot returns ggml's generic vec_dot result for the quantized types
// (the float types have no bit-exact oracle; callers use vecDotRef).
func genericDot(t DType, n int, w, x []byte) float32 {
	switch t {
	case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0:
		return genericLegacy(t, n/32, w, x)
	case Q4_K, Q5_K:
		return genericKMin(t, n/qkK, w, x)
	case Q6_K:
		return genericQ6K(n/qkK, w, x)
	}
	panic("genericDot: " + t.String())
}

// legacyQuant returns the integer quant of element j of block b (offset
// included, e.g. -8 for Q4_0) and the block's d and m (m only for *_1 types).
func legacyQuant(t DType, b []byte, j int) int32 {
	nib := func(qs []byte) int32 {
		if j < 16 {
			return int32(qs[j] & 15)
		}
		return int32(qs[j-16] >> 4)
	}
	switch t {
	case Q4_0:
		return nib(b[2:]) - 8
	case Q4_1:
		return nib(b[4:])
	case Q5_0:
		return nib(b[6:]) | int32(binary.LittleEndian.Uint32(b[2:])>>j&1)<<4 - 16
	case Q5_1:
		return nib(b[8:]) | int32(binary.LittleEndian.Uint32(b[4:])>>j&1)<<4
	}
	return int32(int8(b[2+j])) // Q8_0
}

func genericLegacy(t DType, nb int, w, x []byte) float32 {
	bw, bx := t.BlockBytes(), VecDotType(t).BlockBytes()
	xoff := 2
	if VecDotType(t) == Q8_1 {
		xoff = 4
	}
	var sumf float32
	for i := 0; i < nb; i++ {
		b, y := w[i*bw:(i+1)*bw], x[i*bx:(i+1)*bx]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += legacyQuant(t, b, j) * int32(int8(y[xoff+j]))
		}
		dx, dy := halfAt(b), halfAt(y)
		switch t {
		case Q4_0:
			sumf += float32(float32(float32(sumi)*dx) * dy)
		case Q5_0:
			sumf += float32(float32(dx*dy) * float32(sumi))
		case Q8_0:
			sumf += float32(float32(sumi) * float32(dx*dy))
		default: // Q4_1, Q5_1
			sumf += float32(float32(dx*dy)*float32(sumi)) + float32(halfAt(b[2:])*halfAt(y[2:]))
		}
	}
	return sumf
}

// kQuant returns element e (0..255) of a Q4_K/Q5_K block as an unsigned level.
func kQuant(t DType, b []byte, e int) int32 {
	c, l, high := e/64, e%32, e%64 >= 32
	qs := b[16:]
	bit := uint(2 * c)
	if t == Q5_K {
		qs = b[48:]
	}
	q := int32(qs[32*c+l] & 15)
	if high {
		q = int32(qs[32*c+l] >> 4)
		bit++
	}
	if t == Q5_K {
		q |= int32(b[16+l]>>bit&1) << 4
	}
	return q
}

func genericKMin(t DType, nb int, w, x []byte) float32 {
	bw := t.BlockBytes()
	var sumf float32
	for i := 0; i < nb; i++ {
		b, y := w[i*bw:(i+1)*bw], x[i*292:(i+1)*292]
		var isum, summs int32
		for e := 0; e < qkK; e++ {
			sc, _ := scaleMinK4(e/32, (*[12]byte)(b[4:]))
			isum += int32(sc) * kQuant(t, b, e) * int32(int8(y[4+e]))
		}
		for j := 0; j < 16; j++ {
			_, m := scaleMinK4(j/2, (*[12]byte)(b[4:]))
			summs += int32(int16(binary.LittleEndian.Uint16(y[260+2*j:]))) * int32(m)
		}
		dy := math.Float32frombits(binary.LittleEndian.Uint32(y))
		d, dmin := halfAt(b)*dy, halfAt(b[2:])*dy
		sumf += float32(d*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}

func genericQ6K(nb int, w, x []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		b, y := w[i*210:(i+1)*210], x[i*292:(i+1)*292]
		var isum int32
		for e := 0; e < qkK; e++ {
			n, r := e/128, e%128
			l, kind := r%32, r/32
			ql := b[64*n+l+32*(kind&1)]
			q := int32(ql & 15)
			if kind >= 2 {
				q = int32(ql >> 4)
			}
			q |= int32(b[128+32*n+l]>>(2*kind)&3) << 4
			isum += int32(int8(b[192+e/16])) * (q - 32) * int32(int8(y[4+e]))
		}
		dy := math.Float32frombits(binary.LittleEndian.Uint32(y))
		sumf += float32(halfAt(b[208:])*dy) * float32(isum)
	}
	return sumf
}
