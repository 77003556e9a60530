package compress

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kvpack/kvpack/internal/model"
)

// closedScores runs the closed linear form for query head h of layer l on
// keys ([n][HeadDim], post-RoPE) at round position t.
func closedScores(p *TriAttention, l, h int, keys []float32, t int32) []float32 {
	out := make([]float32, len(keys)/p.hd)
	p.headScores(l, h, keys, p.magnitudes(keys), p.roundRotation(t), make([]float32, p.hd), out)
	return out
}

func TestTriAttentionClosedFormMatchesDirect(t *testing.T) {
	cases := []struct {
		name  string
		style model.RopeStyle
		freqs bool
		hd    int
		t     int32
	}{
		{"interleaved", model.RopeInterleaved, false, 16, 300},
		{"neox", model.RopeNeoX, false, 16, 300},
		{"neox-freqs", model.RopeNeoX, true, 32, 5000},
		{"interleaved-far", model.RopeInterleaved, false, 64, 100000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mc := testConfig(2, 4, 2, tc.hd, tc.style)
			if tc.freqs {
				mc.RopeFreqs = make([]float32, tc.hd/2)
				for i := range mc.RopeFreqs {
					mc.RopeFreqs[i] = 1 + float32(i%4)
				}
			}
			st := randomStats(mc, 3)
			p, err := NewTriAttention(st, mc, ModePerHead)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(4, 5))
			n := 50
			keys := randVec(rng, n*tc.hd)
			pos := make([]int32, n)
			for j := range pos {
				pos[j] = tc.t - 1 - int32(rng.IntN(int(min(tc.t, 4000))))
			}
			for l := range mc.Layers {
				for h := range mc.Heads {
					got := closedScores(p, l, h, keys, tc.t)
					want := make([]float64, n)
					for j := range n {
						want[j] = refTriRaw(mc, st, l, h, f64(keys[j*tc.hd:(j+1)*tc.hd]), pos[j], tc.t)
					}
					tol := 1e-4 * maxAbs(want)
					for j := range n {
						if d := math.Abs(float64(got[j]) - want[j]); d > tol {
							t.Fatalf("layer %d head %d key %d: closed form %g, direct %g (|diff| %g > %g)", l, h, j, got[j], want[j], d, tol)
						}
					}
				}
			}
		})
	}
}

// TestTriAttentionBandPairing builds a key as RoPE(k0, p) with each layout's
// own pairing and checks the score against the direct formula on k0.
func TestTriAttentionBandPairing(t *testing.T) {
	const hd, p, tpos = 8, 37, 90
	k0 := []float64{0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 1.5, -0.7}
	pairs := map[model.RopeStyle]func(f int) (int, int){
		model.RopeInterleaved: func(f int) (int, int) { return 2 * f, 2*f + 1 },
		model.RopeNeoX:        func(f int) (int, int) { return f, f + hd/2 },
	}
	for style, pair := range pairs {
		t.Run(style.String(), func(t *testing.T) {
			mc := testConfig(1, 1, 1, hd, style)
			st := randomStats(mc, 9)
			pol, err := NewTriAttention(st, mc, ModePerHead)
			if err != nil {
				t.Fatal(err)
			}
			kr := make([]float32, hd)
			for f := range hd / 2 {
				a, b := pair(f)
				w := math.Pow(10000, -2*float64(f)/hd)
				s, c := math.Sincos(w * p)
				kr[a] = float32(k0[a]*c - k0[b]*s)
				kr[b] = float32(k0[a]*s + k0[b]*c)
			}
			want := directOnUnrotated(st, k0, pair, tpos-p)
			got := closedScores(pol, 0, 0, kr, tpos)[0]
			if math.Abs(float64(got)-want) > 1e-4*math.Abs(want)+1e-5 {
				t.Fatalf("score %g, direct formula on the unrotated key %g", got, want)
			}
			other := model.RopeNeoX + model.RopeInterleaved - style
			swapped := *st
			swapped.Meta.Rope = other.String()
			wrong, err := NewTriAttention(&swapped, testConfig(1, 1, 1, hd, other), ModePerHead)
			if err != nil {
				t.Fatal(err)
			}
			if bad := closedScores(wrong, 0, 0, kr, tpos)[0]; math.Abs(float64(bad)-want) < 1e-3 {
				t.Fatalf("the other pairing also gives %g: the test cannot tell layouts apart", bad)
			}
			if _, err := NewTriAttention(&swapped, mc, ModePerHead); err == nil {
				t.Fatal("statistics of the other rope style accepted")
			}
		})
	}
}

// directOnUnrotated is the §1.3 score of an unrotated key k0 at distance delta.
func directOnUnrotated(st *Stats, k0 []float64, pair func(int) (int, int), delta int) float64 {
	re, im, abs := st.Head(0, 0)
	var s float64
	n := 0
	for d := 1; d <= 65536; d *= 2 {
		n++
		for f := range len(k0) / 2 {
			a, b := pair(f)
			w := math.Pow(10000, -2*float64(f)/float64(len(k0)))
			q, k := complex(float64(re[f]), float64(im[f])), complex(k0[a], k0[b])
			prod := q * complex(real(k), -imag(k))
			s += cmplxAbs(prod)*math.Cos(w*float64(delta+d)+math.Atan2(imag(prod), real(prod))) + (float64(abs[f])-cmplxAbs(q))*cmplxAbs(k)
		}
	}
	return s / float64(n)
}

func TestTriAttentionErrors(t *testing.T) {
	mc := testConfig(2, 4, 2, 8, model.RopeNeoX)
	st := randomStats(mc, 1)
	if _, err := NewTriAttention(st, mc, "global"); err == nil {
		t.Fatal("unknown mode accepted")
	}
	other := testConfig(3, 4, 2, 8, model.RopeNeoX)
	if _, err := NewTriAttention(st, other, ""); err == nil {
		t.Fatal("stats of a 2-layer model accepted for a 3-layer model")
	}
	bad := randomStats(mc, 1)
	bad.QAbsMean[3] = float32(math.NaN())
	if _, err := NewTriAttention(bad, mc, ""); err == nil {
		t.Fatal("NaN statistics accepted")
	}
}
