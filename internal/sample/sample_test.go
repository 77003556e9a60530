package sample

import (
	"math"
	"testing"
)

func TestGreedyPicksMaxLowestIDOnTie(t *testing.T) {
	cases := []struct {
		logits []float32
		want   int32
	}{
		{[]float32{0, 1, 2}, 2}, {[]float32{3, 1, 3}, 0}, {[]float32{-5, -1, -3}, 1},
	}
	for _, c := range cases {
		if got := Greedy(c.logits); got != c.want {
			t.Errorf("Greedy(%v) = %d, want %d", c.logits, got, c.want)
		}
		if got := New(Params{}).Sample(c.logits, nil); got != c.want {
			t.Errorf("zero Params Sample(%v) = %d, want %d", c.logits, got, c.want)
		}
	}
}

func TestSeedReproducible(t *testing.T) {
	logits := []float32{1, 2, 3, 2.5, 0.5, 1.7}
	draw := func(seed uint64) []int32 {
		s := New(Params{Temperature: 1, Seed: seed})
		var out []int32
		for i := 0; i < 50; i++ {
			out = append(out, s.Sample(logits, nil))
		}
		return out
	}
	a, b, c := draw(7), draw(7), draw(8)
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed gave different draws at %d", i)
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("different seeds gave identical 50-draw sequences")
	}
}

// TestDistributionMatchesSoftmax checks empirical frequencies against the exact
// truncated, tempered distribution computed directly.
func TestDistributionMatchesSoftmax(t *testing.T) {
	logits := []float32{2, 1, 0.5, 0, -1}
	cases := []struct {
		name string
		p    Params
		want []float64 // expected probabilities by id
	}{
		{"temp1", Params{Temperature: 1}, softmaxRef(logits, 1, 5)},
		{"temp0.5", Params{Temperature: 0.5}, softmaxRef(logits, 0.5, 5)},
		{"topk2", Params{Temperature: 1, TopK: 2}, softmaxRef(logits, 1, 2)},
		// top-p 0.6: p(2)=0.557 < 0.6 so ids 0 and 1 stay.
		{"topp", Params{Temperature: 1, TopP: 0.6}, softmaxRef(logits, 1, 2)},
		// min-p 0.3: keeps ids whose prob >= 0.3*p0: e^(l-2) >= 0.3 -> l >= 0.796.
		{"minp", Params{Temperature: 1, MinP: 0.3}, softmaxRef(logits, 1, 2)},
	}
	const n = 40000
	for _, c := range cases {
		s := New(Params{Temperature: c.p.Temperature, TopK: c.p.TopK, TopP: c.p.TopP, MinP: c.p.MinP, Seed: 1})
		counts := make([]float64, len(logits))
		for i := 0; i < n; i++ {
			counts[s.Sample(logits, nil)]++
		}
		for id := range counts {
			if got := counts[id] / n; math.Abs(got-c.want[id]) > 0.015 {
				t.Errorf("%s: p(%d) = %.3f, want %.3f", c.name, id, got, c.want[id])
			}
		}
	}
}

func softmaxRef(logits []float32, temp float64, keep int) []float64 {
	out := make([]float64, len(logits))
	var sum float64
	for i := 0; i < keep; i++ {
		out[i] = math.Exp(float64(logits[i]) / temp)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestRepeatPenalty(t *testing.T) {
	// token 0 (logit 2) penalized by 3 -> 0.667 < token 1 (1.0); negative token 2 gets more negative.
	s := New(Params{RepeatPenalty: 3})
	if got := s.Sample([]float32{2, 1, -0.5}, []int32{0, 0}); got != 1 {
		t.Fatalf("penalized greedy = %d, want 1", got)
	}
	if got := s.Sample([]float32{-0.5, -1, -0.2}, []int32{2}); got != 0 {
		t.Fatalf("negative logit penalty: got %d, want 0", got)
	}
}

func TestValidate(t *testing.T) {
	bad := []Params{{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {RepeatPenalty: -2}, {Temperature: float32(math.NaN())}}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want error", p)
		}
	}
	if err := (Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1}).Validate(); err != nil {
		t.Errorf("valid params rejected: %v", err)
	}
}

func TestLogSoftmaxSumsToOne(t *testing.T) {
	lp := LogSoftmax([]float32{1, 2, 3, -4}, nil)
	var s float64
	for _, v := range lp {
		s += math.Exp(float64(v))
	}
	if math.Abs(s-1) > 1e-6 {
		t.Fatalf("sum of probs = %v", s)
	}
}
