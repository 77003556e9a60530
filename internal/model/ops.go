package model

import "math"

// rmsNormRows normalizes rows of n elements: dst = src / rms(src) * w. dst may
// alias src. The sum of squares is taken in float64, as ggml does.
func rmsNormRows(dst, src, w []float32, n, rows int, eps float32) {
	for r := 0; r < rows; r++ {
		x, y := src[r*n:(r+1)*n], dst[r*n:(r+1)*n]
		var sum float64
		for _, v := range x {
			sum += float64(v * v)
		}
		scale := float32(1 / math.Sqrt(float64(float32(sum/float64(n))+eps)))
		for i, v := range x {
			y[i] = v * scale * w[i]
		}
	}
}

func addBias(x, b []float32, T int) {
	if b == nil {
		return
	}
	n := len(b)
	for t := 0; t < T; t++ {
		row := x[t*n : (t+1)*n]
		for i := range row {
			row[i] += b[i]
		}
	}
}

func addInto(dst, src []float32, n int) {
	dst, src = dst[:n], src[:n]
	for i := range dst {
		dst[i] += src[i]
	}
}

// siluMul computes gate = silu(gate) * up.
func siluMul(gate, up []float32, n int) {
	gate, up = gate[:n], up[:n]
	for i, g := range gate {
		gate[i] = g / (1 + float32(math.Exp(float64(-g)))) * up[i]
	}
}

// ropeCache holds cos/sin of every (token, band) of the current batch.
type ropeCache struct {
	cos, sin []float32 // [T][RopeDim/2]
}

// prepare computes the rotation angles like ggml: theta_i = pos * base^(-2i/d)
// accumulated in float32, divided by the optional per-band frequency factors.
func (rc *ropeCache) prepare(c *Config, pos []int32) {
	half := c.RopeDim / 2
	n := len(pos) * half
	if cap(rc.cos) < n {
		rc.cos, rc.sin = make([]float32, n), make([]float32, n)
	}
	rc.cos, rc.sin = rc.cos[:n], rc.sin[:n]
	scale := float32(math.Pow(float64(c.RopeTheta), -2.0/float64(c.RopeDim)))
	for t, p := range pos {
		theta := float32(p)
		for i := 0; i < half; i++ {
			th := theta
			if c.RopeFreqs != nil {
				th /= c.RopeFreqs[i]
			}
			rc.cos[t*half+i] = float32(math.Cos(float64(th)))
			rc.sin[t*half+i] = float32(math.Sin(float64(th)))
			theta *= scale
		}
	}
}

// apply rotates x: [T][heads][HeadDim] in place with the pairing of c.Rope.
func (rc *ropeCache) apply(c *Config, x []float32, T, heads int) {
	half, hd := c.RopeDim/2, c.HeadDim
	for t := 0; t < T; t++ {
		cs, sn := rc.cos[t*half:(t+1)*half], rc.sin[t*half:(t+1)*half]
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*hd : (t*heads+h+1)*hd]
			RotateHead(v, cs, sn, c.Rope)
		}
	}
}

// RotateHead applies RoPE to one head vector given the cos/sin of each band.
// Band i rotates dims (2i, 2i+1) when interleaved and (i, i+len(cs)) for NeoX.
func RotateHead(v, cs, sn []float32, style RopeStyle) {
	half := len(cs)
	for i := 0; i < half; i++ {
		a, b := 2*i, 2*i+1
		if style == RopeNeoX {
			a, b = i, i+half
		}
		x0, x1 := v[a], v[b]
		v[a] = x0*cs[i] - x1*sn[i]
		v[b] = x0*sn[i] + x1*cs[i]
	}
}
