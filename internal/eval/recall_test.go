package eval

import (
	"slices"
	"strings"
	"testing"
)

// wordTok is a fake tokenizer: one id per space-separated word, ids from a
// shared dictionary, so prompts can be checked word by word.
type wordTok struct{ words []string }

func (w *wordTok) Encode(text string, _, _ bool) []int32 {
	var ids []int32
	for _, f := range strings.Fields(text) {
		i := slices.Index(w.words, f)
		if i < 0 {
			i = len(w.words)
			w.words = append(w.words, f)
		}
		ids = append(ids, int32(i+1))
	}
	return ids
}

func (w *wordTok) Decode(ids []int32, _ bool) string {
	var out []string
	for _, id := range ids {
		out = append(out, w.words[id-1])
	}
	return strings.Join(out, " ")
}

func (w *wordTok) AddBOS() bool     { return true }
func (w *wordTok) BOS() int32       { return 0 }
func (w *wordTok) IsEOG(int32) bool { return false }

func TestRecallPromptGarden(t *testing.T) {
	tk := &wordTok{}
	f := GardenFiller(tk, 100)
	unit := len(tk.Encode(gardenPassage, false, false))
	if f.Unit != unit || len(f.Body) < 100 || len(f.Body)%unit != 0 {
		t.Fatalf("filler: unit %d (want %d), %d tokens", f.Unit, unit, len(f.Body))
	}
	needle := tk.Encode(" The pass key is 12345. Remember it. 12345 is the pass key.", false, false)
	q := tk.Encode(" What is the pass key? The pass key is", false, false)
	for _, tc := range []struct {
		depth   float64
		wantCut int // filler tokens before the needle
	}{{0, 0}, {0.5, 50 / unit * unit}, {0.99, 99 / unit * unit}, {1, 100 / unit * unit}} {
		ids := RecallPrompt(tk, f, 100, tc.depth, "12345")
		head := 1 + len(f.Intro) + tc.wantCut
		if ids[0] != 0 || !slices.Equal(ids[1:1+len(f.Intro)], f.Intro) {
			t.Fatalf("depth %v: prompt does not open with BOS + intro", tc.depth)
		}
		if !slices.Equal(ids[head:head+len(needle)], needle) {
			t.Fatalf("depth %v: needle not at token %d: %q", tc.depth, head, tk.Decode(ids[head:head+len(needle)], false))
		}
		if want := 1 + len(f.Intro) + 100 + len(needle) + len(q); len(ids) != want {
			t.Fatalf("depth %v: %d tokens, want %d", tc.depth, len(ids), want)
		}
		if !slices.Equal(ids[len(ids)-len(q):], q) {
			t.Fatalf("depth %v: prompt does not end with the question", tc.depth)
		}
	}
}

func TestRecallIDsFitTheContext(t *testing.T) {
	tk := &wordTok{}
	garden := GardenFiller(tk, 400)
	short := TextFiller(GardenFiller(tk, 50).Body[:50])
	for _, tc := range []struct {
		name    string
		f       Filler
		context int
		wantLen int // prompt tokens; -1 = error
	}{
		{"garden fills the window", garden, 300, 300 - 8},
		{"short text filler stays short", short, 300, -2},
		{"no room for filler", garden, 20, -1},
	} {
		ids, err := recallIDs(tk, tc.f, RecallOptions{Context: tc.context, Answer: 8}, 0.5, "12345")
		switch {
		case tc.wantLen == -1:
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantLen == -2:
			if len(ids)+8 > tc.context || !slices.Contains(ids, tk.Encode("12345", false, false)[0]) {
				t.Errorf("%s: %d tokens for context %d", tc.name, len(ids), tc.context)
			}
		case len(ids) != tc.wantLen:
			t.Errorf("%s: %d tokens, want %d", tc.name, len(ids), tc.wantLen)
		}
	}
}
