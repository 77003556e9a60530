package eval

import (
	"fmt"
	"slices"
	"strings"
)

// DivergenceRow summarizes one lane over all prompts.
type DivergenceRow struct {
	Name      string
	Per       []int // tokens until first divergence from the full cache, per prompt
	Mean      float64
	Median    float64
	Identical int // prompts whose whole continuation matched
}

// ParagraphPrompts returns n prompts: for n paragraph starts spread evenly
// through text, the context tokens that end with that paragraph's first line.
func ParagraphPrompts(tk Tokenizer, text string, n, context int) [][]int32 {
	paras := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n")
	var starts []int // byte offset of the end of each substantial paragraph's first line
	off := 0
	for _, p := range paras {
		line, _, _ := strings.Cut(strings.TrimSpace(p), "\n")
		if len(line) > 40 && off > 4*context {
			starts = append(starts, off+strings.Index(p, line)+len(line))
		}
		off += len(p) + 2
	}
	var out [][]int32
	for i := 0; i < n && len(starts) > 0; i++ {
		end := starts[(2*i+1)*len(starts)/(2*n)]
		ids := tk.Encode(text[max(end-8*context, 0):end], false, false)
		ids = ids[max(len(ids)-context, 0):]
		if tk.AddBOS() {
			ids = append([]int32{tk.BOS()}, ids...)
		}
		out = append(out, ids)
	}
	return out
}

// Divergence generates n greedy tokens from every prompt in every lane (a
// fresh set per prompt from mk) and counts tokens until each compressed
// lane first differs from lane 0, the full cache.
func Divergence(mk func(promptLen int) (*Set, error), prompts [][]int32, n, chunk int) ([]DivergenceRow, error) {
	var rows []DivergenceRow
	for pi, ids := range prompts {
		set, err := mk(len(ids))
		if err != nil {
			return nil, err
		}
		logits, err := set.Prefill(ids, max(chunk, 1))
		var gen [][]int32
		if err == nil {
			gen, err = set.Greedy(logits, n, nil)
		}
		if err == nil && rows == nil {
			for _, l := range set.Lanes {
				rows = append(rows, DivergenceRow{Name: l.Spec.Name()})
			}
		}
		set.Release()
		if err != nil {
			return nil, fmt.Errorf("eval: divergence prompt %d: %w", pi, err)
		}
		for i := range rows {
			d := FirstDivergence(gen[0], gen[i])
			rows[i].Per = append(rows[i].Per, d)
			if d == len(gen[0]) {
				rows[i].Identical++
			}
		}
	}
	for i := range rows {
		rows[i].Mean, rows[i].Median = meanMedian(rows[i].Per)
	}
	return rows, nil
}

func meanMedian(v []int) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0
	for _, x := range s {
		sum += x
	}
	med := float64(s[len(s)/2])
	if len(s)%2 == 0 {
		med = float64(s[len(s)/2-1]+s[len(s)/2]) / 2
	}
	return float64(sum) / float64(len(s)), med
}
