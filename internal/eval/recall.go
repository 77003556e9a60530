package eval

import (
	"fmt"
	"strings"
)

// RecallOptions configure the passkey test.
type RecallOptions struct {
	Context int       // filler tokens
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

// RecallPrompt builds filler[:depth] + needle + filler[depth:] + question.
func RecallPrompt(tk Tokenizer, filler []int32, depth float64, key string) []int32 {
	cut := int(depth * float64(len(filler)))
	needle := tk.Encode(" The pass key is "+key+". Remember it. "+key+" is the pass key. ", false, false)
	q := tk.Encode(" What is the pass key? The pass key is", false, false)
	var ids []int32
	if tk.AddBOS() {
		ids = append(ids, tk.BOS())
	}
	ids = append(ids, filler[:cut]...)
	ids = append(ids, needle...)
	ids = append(ids, filler[cut:]...)
	return append(ids, q...)
}

// Recall runs one fresh set per depth (mk builds it for a prompt length) and
// checks each lane's greedy answer for the key's digits.
func Recall(mk func(promptLen int) (*Set, error), tk Tokenizer, filler []int32, opt RecallOptions) ([]RecallRow, error) {
	var rows []RecallRow
	for di, d := range opt.Depths {
		key := Passkey(opt.Seed, di)
		ids := RecallPrompt(tk, filler[:min(opt.Context, len(filler))], d, key)
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
