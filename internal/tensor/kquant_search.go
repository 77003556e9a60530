package tensor

import "math"

// Scale searches of ggml's K-quant reference quantizers (make_qx_quants with
// rmse_type 1 and no importance weights, make_qkx2_quants). Every product that
// feeds an addition is wrapped in float32() so the compiler cannot fuse it
// into an FMA: results are those of strict IEEE float32 arithmetic.

const groupMaxEps = 1e-15

// nearestInt is ggml's nearest_int: round half to even through the float32
// magic-number trick; valid for |f| <= 4194303.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912 // float32(): never fused with a product in f
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func clampI32(v, lo, hi int32) int32 { return max(lo, min(hi, v)) }

func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

// makeQXQuants is make_qx_quants(n, nmax, x, L, rmse_type=1, qw=NULL): a
// symmetric scale search with weights x². L receives levels in [0, 2*nmax).
func makeQXQuants(nmax int32, x []float32, L []int8) float32 {
	var max, amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, max = a, v
		}
	}
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / max
	sumlx, suml2 := qxSums(nmax, x, iscale, L)
	scale := float32(0)
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := int32(-9); is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumlx, suml2 = qxSums(nmax, x, iscale, nil)
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			qxSums(nmax, x, iscale, L)
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// qxSums quantizes x with iscale and returns sum(w*x*l), sum(w*l*l) with w = x²;
// when L is not nil it also stores l+nmax.
func qxSums(nmax int32, x []float32, iscale float32, L []int8) (sumlx, suml2 float32) {
	for i, v := range x {
		l := clampI32(nearestInt(iscale*v), -nmax, nmax-1)
		if L != nil {
			L[i] = int8(l + nmax)
		}
		w := v * v
		fl := float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	return sumlx, suml2
}

// kx2Params are the search parameters of make_qkx2_quants.
type kx2Params struct {
	nmax         int32
	rmin, rdelta float32
	nstep        int
}

// makeQKX2Quants is make_qkx2_quants(..., use_mad=false): an asymmetric
// (scale, min) search minimizing the weighted squared error. L receives levels
// in [0, nmax]; it returns the scale and the (non-negative) min to subtract.
func makeQKX2Quants(p kx2Params, x, weights []float32, L, Laux []uint8) (scale, theMin float32) {
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < len(x); i++ {
		if x[i] < mn { // not min/max: those order -0 below +0
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		sumW += weights[i]
		sumX += float32(weights[i] * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		clear(L[:len(x)])
		return 0, -mn
	}
	iscale := float32(p.nmax) / (mx - mn)
	scale = 1 / iscale
	bestErr := kx2Levels(p.nmax, x, weights, iscale, mn, L, scale)
	for is := 0; is <= p.nstep; is++ {
		iscale = (p.rmin + float32(p.rdelta*float32(is)) + float32(p.nmax)) / (mx - mn)
		sumL, sumL2, sumXL := kx2Sums(p.nmax, x, weights, iscale, mn, Laux)
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D <= 0 {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		if e := kx2Error(x, weights, Laux, thisScale, thisMin); e < bestErr {
			copy(L[:len(x)], Laux[:len(x)])
			bestErr, scale, mn = e, thisScale, thisMin
		}
	}
	return scale, -mn
}

// kx2Levels sets L from iscale and returns the weighted error of scale*L+mn.
func kx2Levels(nmax int32, x, weights []float32, iscale, mn float32, L []uint8, scale float32) float32 {
	for i, v := range x {
		L[i] = uint8(clampI32(nearestInt(iscale*(v-mn)), 0, nmax))
	}
	return kx2Error(x, weights, L, scale, mn)
}

func kx2Sums(nmax int32, x, weights []float32, iscale, mn float32, Laux []uint8) (sumL, sumL2, sumXL float32) {
	for i, v := range x {
		l := clampI32(nearestInt(iscale*(v-mn)), 0, nmax)
		Laux[i] = uint8(l)
		fl := float32(l)
		wl := float32(weights[i] * fl)
		sumL += wl
		sumL2 += float32(wl * fl)
		sumXL += float32(wl * v)
	}
	return sumL, sumL2, sumXL
}

func kx2Error(x, weights []float32, L []uint8, scale, mn float32) float32 {
	var e float32
	for i, v := range x {
		diff := float32(scale*float32(L[i])) + mn - v
		e += float32(weights[i] * float32(diff*diff))
	}
	return e
}
