package compress

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	nan := float32(math.NaN())
	seq := func(n int) []int32 {
		p := make([]int32, n)
		for i := range p {
			p[i] = int32(i)
		}
		return p
	}
	cases := []struct {
		name   string
		pos    []int32
		scores []float32
		budget int
		g      Guards
		want   []int // kept slots, ascending
	}{
		{"under budget keeps all", seq(3), []float32{1, 2, 3}, 5, Guards{}, []int{0, 1, 2}},
		{"top-k", seq(6), []float32{5, 1, 4, 2, 6, 0}, 3, Guards{}, []int{0, 2, 4}},
		{"ties go to newer", seq(5), []float32{1, 1, 1, 1, 1}, 2, Guards{}, []int{3, 4}},
		{"NaN is lowest", seq(4), []float32{nan, 0, -1, nan}, 2, Guards{}, []int{1, 2}},
		{"sinks and window", seq(8), []float32{0, 0, 9, 0, 0, 0, 0, 0}, 4, Guards{Sinks: 1, Window: 2}, []int{0, 2, 6, 7}},
		{"guards by position not slot", []int32{7, 0, 5, 1, 6, 2}, []float32{0, 0, 0, 0, 0, 9}, 3, Guards{Sinks: 1, Window: 1}, []int{0, 1, 5}},
		{"prompt fits", seq(10), []float32{0, 0, 0, 0, 0, 0, 0, 9, 0, 0}, 5, Guards{Window: 1, PromptLen: 3}, []int{0, 1, 2, 7, 9}},
		{"prompt too long competes", seq(10), []float32{0, 5, 0, 0, 0, 0, 0, 9, 0, 0}, 4, Guards{Sinks: 1, Window: 1, PromptLen: 6}, []int{0, 1, 7, 9}},
		{"window fills budget", seq(6), []float32{9, 9, 9, 0, 0, 0}, 3, Guards{Window: 3}, []int{3, 4, 5}},
	}
	var s Selector
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Select([]int{-1}, tc.pos, tc.scores, tc.budget, tc.g)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != -1 || !slices.Equal(got[1:], tc.want) {
				t.Fatalf("kept %v, want %v (after the existing -1)", got, tc.want)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	var s Selector
	bad := []struct {
		name   string
		pos    []int32
		scores []float32
		budget int
		g      Guards
	}{
		{"length mismatch", []int32{0, 1}, []float32{1}, 1, Guards{}},
		{"zero budget", []int32{0}, []float32{1}, 0, Guards{}},
		{"guards over budget", []int32{0, 1, 2}, []float32{1, 2, 3}, 2, Guards{Sinks: 2, Window: 1}},
		{"negative window", []int32{0}, []float32{1}, 1, Guards{Window: -1}},
	}
	for _, b := range bad {
		if _, err := s.Select(nil, b.pos, b.scores, b.budget, b.g); err == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
}

func TestConfigResolve(t *testing.T) {
	cases := []struct {
		in                   Config
		window, sinks, bud   int
		compaction, mode, ok string
	}{
		{Config{}, 0, 0, 2048, "repack", "per_head", ""},
		{Config{Policy: "Streaming"}, 8, 4, 2048, "repack", "per_head", ""},
		{Config{Policy: "triattention", Stats: "s"}, 128, 0, 2048, "repack", "per_head", ""},
		{Config{Policy: "snapkv", Sinks: -1, ProtectWindow: -5, Budget: 10}, 0, 0, 10, "repack", "per_head", ""},
		{Config{Policy: "rkv", Compaction: "holefill"}, 8, 0, 2048, "holefill", "per_head", ""},
		{Config{Policy: "triattention"}, 0, 0, 0, "", "", "statistics file"},
		{Config{Policy: "lru"}, 0, 0, 0, "", "", "unknown policy"},
		{Config{Budget: -3}, 0, 0, 0, "", "", "budget"},
		{Config{CompressEvery: -1}, 0, 0, 0, "", "", "compress-every"},
		{Config{Policy: "streaming", Budget: 10, ProtectWindow: 7}, 0, 0, 0, "", "", "exceed the budget"},
		{Config{Compaction: "defrag"}, 0, 0, 0, "", "", "compaction"},
		{Config{Mode: "union"}, 0, 0, 0, "", "", "mode"},
	}
	for _, tc := range cases {
		got, err := tc.in.Resolve()
		if tc.ok != "" {
			if err == nil || !strings.Contains(err.Error(), tc.ok) {
				t.Errorf("%+v: error %v, want one mentioning %q", tc.in, err, tc.ok)
			}
			continue
		}
		if err != nil || got.ProtectWindow != tc.window || got.Sinks != tc.sinks || got.Budget != tc.bud ||
			got.Compaction != tc.compaction || got.Mode != tc.mode || got.CompressEvery != 128 {
			t.Errorf("%+v resolved to %+v, %v", tc.in, got, err)
		}
	}
	if names := Names(); !slices.Equal(names, []string{"h2o", "none", "rkv", "snapkv", "streaming", "tova", "triattention"}) {
		t.Errorf("Names() = %v", names)
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error("Lookup of an unknown policy succeeded")
	}
}
