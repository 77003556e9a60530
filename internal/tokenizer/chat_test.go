package tokenizer

import (
	"errors"
	"testing"
)

const smolDefaultSystem = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"

// qwen25Template is the shape of Qwen2.5's template without tools (Jinja escapes
// instead of literal newlines).
const qwen25Template = `{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}` +
	`{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{%- endif %}` +
	`{%- for message in messages %}...{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`

func TestApplyChatTemplate(t *testing.T) {
	smol := loadTokenizer(t, vocabSmolLM2)
	qwen := tinySPM(t, func(c *Config) { c.ChatTemplate = qwen25Template })
	hi := []Message{{"user", "hi"}}
	tests := []struct {
		name string
		tok  *Tokenizer
		msgs []Message
		gen  bool
		want string
	}{
		{"smollm default system", smol, hi, true,
			smolDefaultSystem + "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"},
		{"smollm own system", smol, []Message{{"system", "Be brief."}, {"user", "hi"}, {"assistant", "Hello!"}}, false,
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"},
		{"smollm assistant first", smol, []Message{{"assistant", "x"}}, false,
			smolDefaultSystem + "<|im_start|>assistant\nx<|im_end|>\n"},
		{"smollm no messages", smol, nil, true, "<|im_start|>assistant\n"},
		{"qwen2.5 default system", qwen, hi, false,
			"<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"},
	}
	for _, tc := range tests {
		got, err := tc.tok.ApplyChatTemplate(tc.msgs, tc.gen)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v\nwant %q", tc.name, got, err, tc.want)
		}
	}
}

func TestApplyChatTemplateErrors(t *testing.T) {
	for _, tpl := range []string{"", "  ", "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"} {
		tok := tinySPM(t, func(c *Config) { c.ChatTemplate = tpl })
		if _, err := tok.ApplyChatTemplate([]Message{{"user", "hi"}}, true); !errors.Is(err, ErrTemplate) {
			t.Errorf("template %q: got %v, want ErrTemplate", tpl, err)
		}
	}
}

// The rendered SmolLM2 prompt tokenizes to the control tokens llama.cpp uses.
func TestChatPromptTokens(t *testing.T) {
	smol := loadTokenizer(t, vocabSmolLM2)
	prompt, err := smol.ApplyChatTemplate([]Message{{"user", "hi"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	ids := smol.Encode(prompt, smol.AddBOS(), true)
	count := func(id int32) (n int) {
		for _, x := range ids {
			if x == id {
				n++
			}
		}
		return n
	}
	if ids[0] != 1 || count(1) != 3 || count(2) != 2 || smol.Decode(ids, true) != prompt {
		t.Errorf("prompt ids %v: want three <|im_start|> (1) and two <|im_end|> (2), decoding back to the prompt", ids)
	}
}
