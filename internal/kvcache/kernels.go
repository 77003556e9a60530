package kvcache

import "math"

// Scalar float32 kernels of the attention inner loops. Several independent
// accumulators break the add dependency chain; the tap pass calls the same
// dot, so it reproduces the main pass's scores bit for bit.

var negInf = float32(math.Inf(-1))

// dot returns a·b over len(a) elements (b at least as long), accumulated in
// float32 over 8 lanes summed pairwise.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 {
		x, y := a[:8:8], b[:8:8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
		a, b = a[8:], b[8:]
	}
	for i := range a {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// axpy adds w*x to acc element-wise (x at least as long as acc).
func axpy(acc []float32, w float32, x []float32) {
	x = x[:len(acc)]
	for len(acc) >= 4 {
		a, b := acc[:4:4], x[:4:4]
		a[0] += w * b[0]
		a[1] += w * b[1]
		a[2] += w * b[2]
		a[3] += w * b[3]
		acc, x = acc[4:], x[4:]
	}
	for i := range acc {
		acc[i] += w * x[i]
	}
}

// scaleVec multiplies a by r in place.
func scaleVec(a []float32, r float32) {
	for i := range a {
		a[i] *= r
	}
}

// expShift is exp(s - m) in float32, the weight of a score s under running
// max m. Both attention passes use it so their probabilities agree exactly.
func expShift(s, m float32) float32 { return exp32(s - m) }

// exp32 is e^x in float32 within 2 ulp (checked against math.Exp in tests),
// about 3x faster than math.Exp: x = n*ln2 + r with |r| <= ln2/2, e^r by a
// degree-7 Taylor polynomial (truncation < 4e-9 relative), scaled by 2^n
// through the exponent bits. Underflow (x < -87.33, including -Inf) gives 0.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125 // ln2 split so n*ln2hi is exact for |n| < 2^11
		ln2lo = 1.428606765330187045e-06
		magic = 12582912 // 1.5 * 2^23: adding it rounds to an integer
	)
	switch {
	case x != x:
		return x
	case x < -87.33:
		return 0
	case x > 88.72:
		return float32(math.Inf(1))
	}
	n := float32(float32(x*log2e+magic) - magic)
	r := float32(x-n*ln2hi) - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	if n > 127 { // x in (88.38, 88.72]: 2^128 overflows the exponent field
		return p * 0x1p127 * 2
	}
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
