package oracle

// Request is one oracle.mjs call: a model and the ops to run on it, in order.
// Zero values take oracle.mjs's defaults (threads 0 = all math cores, context 2048,
// batch 512, flash attention off).
type Request struct {
	Model          string `json:"model"`
	Threads        int    `json:"threads,omitempty"`
	Context        int    `json:"context,omitempty"`
	Batch          int    `json:"batch,omitempty"`
	FlashAttention bool   `json:"flashAttention,omitempty"`
	KVType         string `json:"kvType,omitempty"` // "F16" (llama.cpp's default) or "F32"
	Ops            []Op   `json:"ops"`
}

// Op is one operation; which fields matter depends on Op.Op:
// "info"; "tokenize" (Text, Special, AddBOS); "detokenize" (IDs, Special);
// "greedy" (IDs, N, Probs, TopK); "bench" (IDs, N, NoWarmup).
type Op struct {
	Op      string  `json:"op"`
	Text    string  `json:"text"`
	Special bool    `json:"special,omitempty"`
	AddBOS  bool    `json:"addBos,omitempty"`
	IDs     []int32 `json:"ids,omitempty"`
	N       int     `json:"n"`
	Probs   bool    `json:"probs,omitempty"`
	// TopK > 0 returns the K most likely tokens per step; 0 the full distribution.
	TopK   int   `json:"topk,omitempty"`
	Warmup *bool `json:"warmup,omitempty"`
}

// Response is oracle.mjs's answer: one Result per Op, in order.
type Response struct {
	Model   ModelInfo `json:"model"`
	Config  Config    `json:"config"`
	Results []Result  `json:"results"`
	Error   string    `json:"error,omitempty"`
}

// ModelInfo describes the loaded model's vocabulary. Token ids are -1 when the model
// has no such token.
type ModelInfo struct {
	Architecture string  `json:"architecture"`
	Vocab        int     `json:"vocab"`
	BOS          int32   `json:"bos"`
	EOS          int32   `json:"eos"`
	EOT          int32   `json:"eot"`
	AddBOS       bool    `json:"addBos"` // llama.cpp would prepend BOS (tokenizer.ggml.add_bos_token)
	EOG          []int32 `json:"eog"`    // every end-of-generation token
	TrainContext int     `json:"trainContext"`
}

// Config is what llama.cpp actually used (context may be rounded up).
type Config struct {
	Threads        int  `json:"threads"`
	Context        int  `json:"context"`
	Batch          int  `json:"batch"`
	FlashAttention bool `json:"flashAttention"`
}

// Result is one op's answer; BenchResult's fields are set for "bench" only.
type Result struct {
	Op    string  `json:"op"`
	Error string  `json:"error,omitempty"` // this op failed; the others still ran
	IDs   []int32 `json:"ids,omitempty"`
	Text  string  `json:"text,omitempty"`
	Steps []Step  `json:"steps,omitempty"`
	BenchResult
}

// BenchResult holds timings measured inside node with performance.now(), after model
// load: prefill = the prompt's llama_decode calls plus one greedy pick; decode =
// DecodeTokens single-token decode+greedy steps.
type BenchResult struct {
	PrefillTokens  int     `json:"prefill_tokens,omitempty"`
	PrefillSeconds float64 `json:"prefill_s,omitempty"`
	DecodeTokens   int     `json:"decode_tokens,omitempty"`
	DecodeSeconds  float64 `json:"decode_s,omitempty"`
	Threads        int     `json:"threads,omitempty"`
	Batch          int     `json:"batch,omitempty"`
}

// PrefillTokPerSec is prompt tokens per second.
func (b BenchResult) PrefillTokPerSec() float64 { return rate(b.PrefillTokens, b.PrefillSeconds) }

// DecodeTokPerSec is generated tokens per second.
func (b BenchResult) DecodeTokPerSec() float64 { return rate(b.DecodeTokens, b.DecodeSeconds) }

func rate(n int, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return float64(n) / s
}
