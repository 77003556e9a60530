package eval

import (
	"math"
	"testing"
)

func TestMetricsHandComputed(t *testing.T) {
	ln3 := float32(math.Log(3))
	tests := []struct {
		name          string
		ref, cmp      []float32
		target        int32
		kl, top1, ppr float64
	}{
		// p = (1/4, 3/4), q = (1/2, 1/2): KL = 1/4 ln(1/2) + 3/4 ln(3/2)
		{"p vs uniform", []float32{0, ln3}, []float32{5, 5}, 1, 0.25*math.Log(0.5) + 0.75*math.Log(1.5), 0, (1 / 0.5) / (1 / 0.75)},
		{"identical", []float32{1, 2, 3}, []float32{1, 2, 3}, 0, 0, 1, 1},
		// same distribution up to a shift of the logits
		{"shifted logits", []float32{0, 1}, []float32{10, 11}, 0, 0, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a Agg
			lr, lc := LogSoftmax(nil, tc.ref), LogSoftmax(nil, tc.cmp)
			a.Add(lr, lc, Argmax(tc.ref), Argmax(tc.cmp), tc.target)
			if math.Abs(a.MeanKL()-tc.kl) > 1e-7 {
				t.Errorf("KL = %.12f, want %.12f", a.MeanKL(), tc.kl)
			}
			if a.Top1() != tc.top1 {
				t.Errorf("top-1 = %v, want %v", a.Top1(), tc.top1)
			}
			if math.Abs(a.PPLRatio()-tc.ppr) > 1e-7 {
				t.Errorf("ppl ratio = %.12f, want %.12f", a.PPLRatio(), tc.ppr)
			}
		})
	}
}

func TestAggMeans(t *testing.T) {
	// two steps: target probabilities 1/2 then 1/4 (compressed) vs 1/2, 1/2 (full)
	var a Agg
	half := []float64{math.Log(0.5), math.Log(0.5)}
	quarter := []float64{math.Log(0.25), math.Log(0.75)}
	a.Add(half, half, 0, 0, 0)
	a.Add(half, quarter, 0, 1, 0)
	if got, want := a.PPL(), math.Sqrt(2*4); math.Abs(got-want) > 1e-9 {
		t.Errorf("ppl = %v, want %v", got, want)
	}
	if got, want := a.RefPPL(), 2.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("ref ppl = %v, want %v", got, want)
	}
	if got, want := a.PPLRatio(), math.Sqrt(8)/2; math.Abs(got-want) > 1e-9 {
		t.Errorf("ppl ratio = %v, want %v", got, want)
	}
	if a.Top1() != 0.5 {
		t.Errorf("top-1 = %v, want 0.5", a.Top1())
	}
}

func TestExtractAnswer(t *testing.T) {
	tests := []struct {
		in, want string
		strict   bool
	}{
		{"so 9 * 2 = 18\n#### 18", "18", true},
		{"#### 1,234.50", "1234.5", true},
		{"the answer is 7 apples, or 8", "8", false},
		{"no number", "", false},
		{"#### $-3", "-3", true},
	}
	for _, tc := range tests {
		got, strict := ExtractAnswer(tc.in)
		if got != tc.want || strict != tc.strict {
			t.Errorf("ExtractAnswer(%q) = %q, %v; want %q, %v", tc.in, got, strict, tc.want, tc.strict)
		}
	}
}

func TestFirstDivergenceAndMedian(t *testing.T) {
	tests := []struct {
		a, b []int32
		want int
	}{
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, 3},
		{[]int32{1, 2, 3}, []int32{1, 5, 3}, 1},
		{[]int32{1, 2}, []int32{1, 2, 3}, 2},
	}
	for _, tc := range tests {
		if got := FirstDivergence(tc.a, tc.b); got != tc.want {
			t.Errorf("FirstDivergence(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if m, med := meanMedian([]int{4, 1, 3, 2}); m != 2.5 || med != 2.5 {
		t.Errorf("meanMedian = %v, %v", m, med)
	}
}

func TestRecallTableAllDepths(t *testing.T) {
	rows := []RecallRow{{Name: "full", Depth: 0.1, OK: true}, {Name: "s@8", Depth: 0.1}, {Name: "full", Depth: 0.9}, {Name: "s@8", Depth: 0.9, OK: true}}
	got := RecallTable(rows)
	want := "| lane | depth 10% | depth 90% | accuracy |\n|---|---|---|---|\n| full | ✓ | ✗ | 1/2 |\n| s@8 | ✗ | ✓ | 1/2 |\n"
	if got != want {
		t.Errorf("RecallTable =\n%s\nwant\n%s", got, want)
	}
}
