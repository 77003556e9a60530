package scheduler

import (
	"math"
	"testing"
)

func TestStopText(t *testing.T) {
	tests := []struct {
		name    string
		stops   []string
		pieces  []string
		want    []string // released text after each piece
		stopAt  int      // index of the piece that stops, -1 for none
		flushed string   // text released by flush when not stopped
	}{
		{"no stops", nil, []string{"a", "b"}, []string{"a", "b"}, -1, ""},
		{"stop inside one piece", []string{"END"}, []string{"abENDcd"}, []string{"ab"}, 0, ""},
		{"stop spanning pieces", []string{"END"}, []string{"xE", "N", "Dy"}, []string{"x", "", ""}, 2, ""},
		{"false start released", []string{"END"}, []string{"xE", "NO"}, []string{"x", "ENO"}, -1, ""},
		{"held tail flushed at the end", []string{"END"}, []string{"abEN"}, []string{"ab"}, -1, "EN"},
		{"earliest of several stops", []string{"cd", "b"}, []string{"abcd"}, []string{"a"}, 0, ""},
		{"empty stop ignored", []string{""}, []string{"ab"}, []string{"ab"}, -1, ""},
		{"multibyte stop", []string{"é!"}, []string{"café", "!"}, []string{"caf", ""}, 1, ""},
		{"overlapping prefix", []string{"aab"}, []string{"aa", "a", "b"}, []string{"", "a", ""}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStopText(tc.stops)
			stopped := -1
			for i, p := range tc.pieces {
				out, s := st.push(p)
				if out != tc.want[i] {
					t.Fatalf("piece %d (%q): released %q, want %q", i, p, out, tc.want[i])
				}
				if s {
					stopped = i
					break
				}
			}
			if stopped != tc.stopAt {
				t.Fatalf("stopped at %d, want %d", stopped, tc.stopAt)
			}
			if stopped < 0 {
				if f := st.flush(); f != tc.flushed {
					t.Fatalf("flush %q, want %q", f, tc.flushed)
				}
			}
		})
	}
}

func TestLogprobsTopK(t *testing.T) {
	logits := []float32{1, 3, 3, -2, 0.5}
	piece := func(id int32) []byte { return []byte{byte('a' + id)} }
	tl, _ := logprobs(logits, 2, 3, piece, nil)
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l))
	}
	want := float32(3 - math.Log(sum))
	if math.Abs(float64(tl.Logprob-want)) > 1e-5 || string(tl.Text) != "c" {
		t.Fatalf("chosen: %+v, want logprob %v", tl, want)
	}
	gotIDs := []int32{}
	for _, x := range tl.Top {
		gotIDs = append(gotIDs, x.ID)
	}
	if len(gotIDs) != 3 || gotIDs[0] != 1 || gotIDs[1] != 2 || gotIDs[2] != 0 {
		t.Fatalf("top ids %v, want [1 2 0] (ties by lower id)", gotIDs)
	}
	if tl, _ = logprobs(logits, 0, 50, piece, nil); len(tl.Top) != len(logits) {
		t.Fatalf("k beyond the vocabulary: %d alternatives", len(tl.Top))
	}
}
