package compress

import (
	"fmt"
	"math"

	"github.com/kvpack/kvpack/internal/model"
)

// RoPE geometry as the model's forward pass uses it. The model keeps its angle
// computation private (model.ropeCache.prepare), so RopeAngles repeats it
// operation for operation; TestRopeMatchesModel checks the keys a model
// stores against it bit for bit.

// RopeAngles writes the cos and sin of every band ([RopeDim/2] each) at
// position p exactly as the model computes them: theta_i = p * base^(-2i/d)
// accumulated in float32 by repeated multiplication, divided by RopeFreqs[i]
// when present, cos/sin taken in float64 and rounded to float32.
// cs and sn must hold at least RopeDim/2 values.
func RopeAngles(mc *model.Config, p int32, cs, sn []float32) error {
	half := mc.RopeDim / 2
	if len(cs) < half || len(sn) < half {
		return fmt.Errorf("compress: rope angles: cos/sin buffers of %d/%d values, need %d", len(cs), len(sn), half)
	}
	scale := float32(math.Pow(float64(mc.RopeTheta), -2.0/float64(mc.RopeDim)))
	theta := float32(p)
	for i := 0; i < half; i++ {
		th := theta
		if mc.RopeFreqs != nil {
			th /= mc.RopeFreqs[i]
		}
		cs[i] = float32(math.Cos(float64(th)))
		sn[i] = float32(math.Sin(float64(th)))
		theta *= scale
	}
	return nil
}

// Rotate applies the model's RoPE at position p to one head vector v
// ([HeadDim]) in place; cs and sn are [RopeDim/2] scratch.
func Rotate(mc *model.Config, v []float32, p int32, cs, sn []float32) error {
	if len(v) < mc.HeadDim {
		return fmt.Errorf("compress: rotate: head vector of %d values, need %d", len(v), mc.HeadDim)
	}
	if err := RopeAngles(mc, p, cs, sn); err != nil {
		return err
	}
	half := mc.RopeDim / 2
	model.RotateHead(v, cs[:half], sn[:half], mc.Rope)
	return nil
}

// bandDims returns the two dimensions that band f rotates together: (2f, 2f+1)
// for interleaved pairing, (f, f+RopeDim/2) for NeoX.
func bandDims(style model.RopeStyle, ropeDim, f int) (int, int) {
	if style == model.RopeNeoX {
		return f, f + ropeDim/2
	}
	return 2 * f, 2*f + 1
}

// omegas returns the angular frequency of every band in float64:
// ω_f = theta^(-2f/RopeDim) / RopeFreqs[f].
func omegas(mc *model.Config) []float64 {
	half := mc.RopeDim / 2
	w := make([]float64, half)
	for f := range w {
		w[f] = math.Pow(float64(mc.RopeTheta), -2*float64(f)/float64(mc.RopeDim))
		if mc.RopeFreqs != nil {
			w[f] /= float64(mc.RopeFreqs[f])
		}
	}
	return w
}
