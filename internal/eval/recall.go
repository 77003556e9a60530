package eval

import (
	"fmt"
	"strings"
)

// RecallOptions configure the passkey test.
type RecallOptions struct {
	Context int       // tokens of prompt plus answer (the filler takes what is left)
	Depths  []float64 // passkey depth as a fraction of the filler
	Chunk   int       // prefill chunk (compression runs between chunks)
	Answer  int       // tokens generated for the answer
	Seed    uint64    // passkey seed
}

// RecallRow is one lane's answer at one depth.
type RecallRow struct {
	Name   string
	Depth  float64
	Key    string
	Answer string
	OK     bool
}

// Passkey is the deterministic 5-digit key of trial i.
func Passkey(seed uint64, i int) string {
	x := seed*6364136223846793005 + uint64(i+1)*1442695040888963407
	x ^= x >> 33
	return fmt.Sprintf("%05d", 10000+x%90000)
}

// Filler is the haystack of the passkey test: Intro opens the prompt, then
// Body; the needle goes in at a multiple of Unit tokens of Body (a sentence
// boundary for the garden filler; Unit 1 for free text).
type Filler struct {
	Intro, Body []int32
	Unit        int
}

// The classic passkey-retrieval haystack (Mohtashami and Jaggi, 2023): an
// instruction, then one uninformative passage repeated, so the needle is the
// only thing worth keeping. Small models solve it with a full cache, which a
// novel as filler does not allow (the 135M model fails that at 2K even
// uncompressed), so compression is what the test then measures.
const (
	gardenIntro   = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there."
	gardenPassage = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
)

// GardenFiller repeats the garden passage to at least n tokens.
func GardenFiller(tk Tokenizer, n int) Filler {
	unit := tk.Encode(gardenPassage, false, false)
	f := Filler{Intro: tk.Encode(gardenIntro, false, false), Unit: len(unit)}
	for len(f.Body) < n {
		f.Body = append(f.Body, unit...)
	}
	return f
}

// TextFiller uses free text (a novel) as the haystack.
func TextFiller(ids []int32) Filler { return Filler{Body: ids, Unit: 1} }

// RecallPrompt builds intro + body[:depth] + needle + body[depth:] + question,
// with body cut to n tokens and the needle at a Unit boundary.
func RecallPrompt(tk Tokenizer, f Filler, n int, depth float64, key string) []int32 {
	filler := f.Body[:min(n, len(f.Body))]
	unit := max(f.Unit, 1)
	cut := int(depth*float64(len(filler))) / unit * unit
	needle := tk.Encode(" The pass key is "+key+". Remember it. "+key+" is the pass key.", false, false)
	q := tk.Encode(" What is the pass key? The pass key is", false, false)
	var ids []int32
	if tk.AddBOS() {
		ids = append(ids, tk.BOS())
	}
	ids = append(ids, f.Intro...)
	ids = append(ids, filler[:cut]...)
	ids = append(ids, needle...)
	ids = append(ids, filler[cut:]...)
	return append(ids, q...)
}

// recallIDs builds the prompt so that prompt plus answer fill exactly
// opt.Context tokens (fewer when the filler runs out), cutting the filler.
func recallIDs(tk Tokenizer, f Filler, opt RecallOptions, depth float64, key string) ([]int32, error) {
	used := min(opt.Context, len(f.Body))
	ids := RecallPrompt(tk, f, used, depth, key)
	over := len(ids) + opt.Answer - opt.Context
	if over <= 0 {
		return ids, nil
	}
	if over >= used {
		return nil, fmt.Errorf("eval: recall context %d leaves no room for filler (prompt and answer need %d more tokens)", opt.Context, over-used)
	}
	return RecallPrompt(tk, f, used-over, depth, key), nil
}

// Recall runs one fresh set per depth (mk builds it for a prompt length) and
// checks each lane's greedy answer for the key's digits.
func Recall(mk func(promptLen int) (*Set, error), tk Tokenizer, filler Filler, opt RecallOptions) ([]RecallRow, error) {
	var rows []RecallRow
	for di, d := range opt.Depths {
		key := Passkey(opt.Seed, di)
		ids, err := recallIDs(tk, filler, opt, d, key)
		if err != nil {
			return nil, err
		}
		set, err := mk(len(ids))
		if err != nil {
			return nil, err
		}
		logits, err := set.Prefill(ids, max(opt.Chunk, 1))
		if err == nil {
			var ans [][]int32
			if ans, err = set.Greedy(logits, max(opt.Answer, 1), nil); err == nil {
				for i, l := range set.Lanes {
					text := tk.Decode(ans[i], false)
					rows = append(rows, RecallRow{Name: l.Spec.Name(), Depth: d, Key: key, Answer: text, OK: strings.Contains(text, key)})
				}
			}
		}
		set.Release()
		if err != nil {
			return nil, fmt.Errorf("eval: recall depth %.2f: %w", d, err)
		}
	}
	return rows, nil
}
