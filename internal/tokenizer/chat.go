package tokenizer

import (
	"errors"
	"fmt"
	"strings"
)

// Message is one chat turn.
type Message struct{ Role, Content string }

// ErrTemplate is wrapped by ApplyChatTemplate's errors.
var ErrTemplate = errors.New("unsupported chat template")

// chatML is a recognized ChatML template ("<|im_start|>role\ncontent<|im_end|>\n").
type chatML struct {
	// defaultSystem is emitted before the first message when that message is not
	// a system one (SmolLM2, Qwen2.5); "" when the template has none.
	defaultSystem string
}

// ApplyChatTemplate renders msgs with the vocabulary's chat template, ending with
// the assistant's header when addGenerationPrompt is set. Templates are
// recognized from their text, not executed: ChatML ones are supported,
// including a default system message written as a literal
// '<|im_start|>system\n...<|im_end|>\n' (emitted, as SmolLM2's and Qwen2.5's
// templates do, when messages exist and the first is not a system message).
func (t *Tokenizer) ApplyChatTemplate(msgs []Message, addGenerationPrompt bool) (string, error) {
	tpl, err := parseTemplate(t.template)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if len(msgs) > 0 && msgs[0].Role != "system" && tpl.defaultSystem != "" {
		b.WriteString(tpl.defaultSystem)
	}
	for _, m := range msgs {
		fmt.Fprintf(&b, "<|im_start|>%s\n%s<|im_end|>\n", m.Role, m.Content)
	}
	if addGenerationPrompt {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

func parseTemplate(src string) (chatML, error) {
	if strings.TrimSpace(src) == "" {
		return chatML{}, fmt.Errorf("%w: the vocabulary has no chat template", ErrTemplate)
	}
	if !strings.Contains(src, "<|im_start|>") {
		return chatML{}, fmt.Errorf("%w: not ChatML (no <|im_start|>); template starts %q", ErrTemplate, head(src, 60))
	}
	var tpl chatML
	for _, lit := range stringLiterals(src) {
		if strings.HasPrefix(lit, "<|im_start|>system\n") && strings.HasSuffix(lit, "<|im_end|>\n") &&
			strings.Count(lit, "<|im_start|>") == 1 {
			tpl.defaultSystem = lit
			break
		}
	}
	return tpl, nil
}

// stringLiterals returns the quoted strings inside the template's {{ }} and
// {% %} tags, with Jinja's escapes (\n, \t, \', \", \\) resolved.
func stringLiterals(src string) []string {
	var out []string
	inTag := false
	for i := 0; i < len(src); i++ {
		switch {
		case !inTag && (strings.HasPrefix(src[i:], "{{") || strings.HasPrefix(src[i:], "{%")):
			inTag, i = true, i+1
		case inTag && (strings.HasPrefix(src[i:], "}}") || strings.HasPrefix(src[i:], "%}")):
			inTag, i = false, i+1
		case inTag && (src[i] == '\'' || src[i] == '"'):
			lit, end := readLiteral(src, i)
			out = append(out, lit)
			i = end
		}
	}
	return out
}

// readLiteral reads the string literal opening at src[i]; it returns the value
// and the index of the closing quote (or the end of src).
func readLiteral(src string, i int) (string, int) {
	q := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		c := src[j]
		if c == q {
			return b.String(), j
		}
		if c == '\\' && j+1 < len(src) {
			j++
			switch src[j] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(src[j])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), len(src)
}

func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
