package tokenizer

// The simple regexes llama.cpp runs through std::regex (on a "collapsed" text in
// which every non-ASCII codepoint stands for its category). Each matches runs of
// one character class, so matches and gaps can be cut without backtracking.

// stageEach: a regex matching exactly one codepoint of the class (e.g. \p{N}).
func stageEach(in func(cpt uint32, cls uint8) bool) preStage {
	return func(t *cptText, lo, hi int, ends []int) []int {
		gap := false
		for i := lo; i < hi; i++ {
			if in(t.cpts[i], t.cls[i]) {
				if gap {
					ends = append(ends, i)
				}
				ends = append(ends, i+1)
				gap = false
				continue
			}
			gap = true
		}
		if gap {
			ends = append(ends, hi)
		}
		return ends
	}
}

// stageRuns: a regex matching maximal runs of the class (e.g. \p{N}+).
func stageRuns(in func(cpt uint32, cls uint8) bool) preStage {
	return func(t *cptText, lo, hi int, ends []int) []int {
		for i := lo; i < hi; {
			want := in(t.cpts[i], t.cls[i])
			j := i + 1
			for j < hi && in(t.cpts[j], t.cls[j]) == want {
				j++
			}
			ends = append(ends, j)
			i = j
		}
		return ends
	}
}

// stageDigitTriples: [0-9][0-9][0-9], matched left to right without overlap.
func stageDigitTriples(t *cptText, lo, hi int, ends []int) []int {
	gapStart := lo
	for i := lo; i+3 <= hi; {
		if isDigit(t.cpts[i]) && isDigit(t.cpts[i+1]) && isDigit(t.cpts[i+2]) {
			if i > gapStart {
				ends = append(ends, i)
			}
			ends = append(ends, i+3)
			i += 3
			gapStart = i
			continue
		}
		i++
	}
	if gapStart < hi {
		ends = append(ends, hi)
	}
	return ends
}

func isDigit(c uint32) bool { return c >= '0' && c <= '9' }

func isNumber(_ uint32, cls uint8) bool { return cls&clsNumber != 0 }

// isDefaultPunct: [\p{P}\$\+<=>\^~\|] of llama.cpp's default BPE pre-tokenizer.
func isDefaultPunct(cpt uint32, cls uint8) bool {
	switch cpt {
	case '$', '+', '<', '=', '>', '^', '~', '|':
		return true
	}
	return cls&clsPunct != 0
}

// preStages lists the stages of each pre-tokenizer family.
var preStages = map[preKind][]preStage{
	preGPT2:   {stepper(stepGPT2)},
	preSmolLM: {stageEach(isNumber), stepper(stepGPT2)},
	preLlama3: {stepper(stepLlama3)},
	preQwen2:  {stepper(stepQwen2)},
	preDefault: {
		stageRuns(isDefaultPunct), stepper(stepGPT2),
		stageRuns(isNumber), stageDigitTriples,
	},
}

// splitWords runs the stages over t and returns piece end offsets (reusing buf).
func splitWords(t *cptText, stages []preStage, buf, tmp []int) ([]int, []int) {
	ends := append(buf[:0], len(t.cpts))
	for _, stage := range stages {
		next, lo := tmp[:0], 0
		for _, hi := range ends {
			next = stage(t, lo, hi, next)
			lo = hi
		}
		ends, tmp = next, ends
	}
	return ends, tmp
}
