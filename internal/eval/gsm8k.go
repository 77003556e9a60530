package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Problem is one GSM8K item.
type Problem struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// LoadGSM8K reads up to max problems from a GSM8K jsonl file.
func LoadGSM8K(path string, max int) ([]Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: gsm8k: %w", err)
	}
	defer f.Close()
	var out []Problem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(out) < max {
		var p Problem
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("eval: gsm8k line %d: %w", len(out)+1, err)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

var (
	hashAnswer = regexp.MustCompile(`####\s*\$?\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)`)
	anyNumber  = regexp.MustCompile(`-?[0-9][0-9,]*(?:\.[0-9]+)?`)
)

// ExtractAnswer returns the "#### N" answer of a text (strict) or, failing
// that, its last number (loose); commas and a trailing ".0" are dropped.
func ExtractAnswer(text string) (ans string, strict bool) {
	if m := hashAnswer.FindAllStringSubmatch(text, -1); m != nil {
		return normNumber(m[len(m)-1][1]), true
	}
	if m := anyNumber.FindAllString(text, -1); m != nil {
		return normNumber(m[len(m)-1]), false
	}
	return "", false
}

func normNumber(s string) string {
	s = strings.ReplaceAll(s, ",", "")
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// GSMRow is one lane's score.
type GSMRow struct {
	Name                string
	Problems            int
	Correct, StrictForm int // correct answers; outputs that used "#### N"
	Answers             []string
}

// GSMPrompt is the instruction wrapped around each question.
const GSMPrompt = "Solve this math word problem step by step. End your answer with a final line of the form \"#### <number>\".\n\n"

// GSM8K answers each problem greedily in every lane (a fresh set per problem
// from mk; prompt builds the token ids of a question) and scores the
// extracted answers against the gold "#### N".
func GSM8K(mk func(promptLen int) (*Set, error), tk Tokenizer, probs []Problem, prompt func(q string) ([]int32, error), n, chunk int) ([]GSMRow, error) {
	var rows []GSMRow
	for pi, p := range probs {
		gold, _ := ExtractAnswer(p.Answer)
		ids, err := prompt(p.Question)
		if err != nil {
			return nil, err
		}
		set, err := mk(len(ids))
		if err != nil {
			return nil, err
		}
		logits, err := set.Prefill(ids, max(chunk, 1))
		var gen [][]int32
		if err == nil {
			gen, err = set.Greedy(logits, n, tk.IsEOG)
		}
		if err == nil && rows == nil {
			for _, l := range set.Lanes {
				rows = append(rows, GSMRow{Name: l.Spec.Name()})
			}
		}
		set.Release()
		if err != nil {
			return nil, fmt.Errorf("eval: gsm8k problem %d: %w", pi, err)
		}
		for i := range rows {
			ans, strict := ExtractAnswer(tk.Decode(gen[i], false))
			rows[i].Problems++
			rows[i].Answers = append(rows[i].Answers, ans)
			if strict {
				rows[i].StrictForm++
			}
			if ans != "" && ans == gold {
				rows[i].Correct++
			}
		}
	}
	return rows, nil
}
