package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// WriteJSON writes v indented to path ("" does nothing).
func WriteJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("eval: json: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("eval: write %s: %w", path, err)
	}
	return nil
}

// table renders a markdown table.
func table(head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// FidelityTable renders a fidelity result.
func FidelityTable(r *FidelityResult) string {
	head := []string{"lane", "mean KL(full‖c)", "max KL", "top-1 agree", "ppl", "ppl ratio", "rounds", "blocks freed", "KV MiB end", "MiB if not compacted", "compress s"}
	var rows [][]string
	for _, x := range r.Rows {
		rows = append(rows, []string{x.Name, fmt.Sprintf("%.4f", x.MeanKL), fmt.Sprintf("%.3f", x.MaxKL),
			fmt.Sprintf("%.3f", x.Top1), fmt.Sprintf("%.3f", x.PPL), fmt.Sprintf("%.4f", x.PPLRatio),
			fmt.Sprint(x.Rounds), fmt.Sprint(x.BlocksFreed), mib(x.FinalBytes), mib(x.UncompactedBytes), fmt.Sprintf("%.1f", x.CompressSeconds)})
	}
	return fmt.Sprintf("prefill %d tokens, %d teacher-forced steps, %.0f s for all lanes together\n\n", r.Prefill, r.Tokens, r.Seconds) + table(head, rows)
}

// RecallTable renders accuracy per lane (columns: depths) from recall rows.
func RecallTable(rows []RecallRow) string {
	var names []string
	var depths []float64
	ok := map[string]map[float64]bool{}
	for _, r := range rows {
		if ok[r.Name] == nil {
			ok[r.Name] = map[float64]bool{}
			names = append(names, r.Name)
		}
		if !slices.Contains(depths, r.Depth) {
			depths = append(depths, r.Depth)
		}
		ok[r.Name][r.Depth] = r.OK
	}
	head := []string{"lane"}
	for _, d := range depths {
		head = append(head, fmt.Sprintf("depth %.0f%%", 100*d))
	}
	head = append(head, "accuracy")
	var out [][]string
	for _, n := range names {
		row, hit := []string{n}, 0
		for _, d := range depths {
			row = append(row, map[bool]string{true: "✓", false: "✗"}[ok[n][d]])
			if ok[n][d] {
				hit++
			}
		}
		out = append(out, append(row, fmt.Sprintf("%d/%d", hit, len(depths))))
	}
	return table(head, out)
}

// DivergenceTable renders divergence rows.
func DivergenceTable(rows []DivergenceRow, n int) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Name, fmt.Sprintf("%.1f", r.Mean), fmt.Sprintf("%.1f", r.Median),
			fmt.Sprintf("%d/%d", r.Identical, len(r.Per)), fmt.Sprint(r.Per)})
	}
	return fmt.Sprintf("greedy continuations of %d tokens; divergence = tokens until the first token that differs from the full cache\n\n", n) +
		table([]string{"lane", "mean", "median", "identical", "per prompt"}, out)
}

// GSMTable renders GSM8K rows.
func GSMTable(rows []GSMRow) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Name, fmt.Sprintf("%d/%d", r.Correct, r.Problems), fmt.Sprintf("%d/%d", r.StrictForm, r.Problems), strings.Join(r.Answers, ", ")})
	}
	return table([]string{"lane", "correct", "used \"#### N\"", "extracted answers"}, out)
}
