package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Client runs ops against one GGUF model. Zero Threads/Context/Batch take
// oracle.mjs's defaults (all math cores, 2048, 512); Timeout 0 means none.
type Client struct {
	Model          string
	Threads        int
	Context        int
	Batch          int
	FlashAttention bool
	KVType         string // "F16" (default) or "F32"
	Timeout        time.Duration
}

// stderrTail bounds how much of node's stderr an error message carries.
const stderrTail = 2000

// Do runs all of req's ops in one node process (the model is loaded once). Empty
// request fields are filled from the client. When ops fail, the error names the
// first one and the returned Response still holds every result (failed ones carry
// Result.Error).
func (c Client) Do(req Request) (Response, error) {
	req = c.fill(req)
	if req.Model == "" {
		return Response{}, errors.New("oracle: no model path")
	}
	model, err := filepath.Abs(req.Model)
	if err != nil {
		return Response{}, fmt.Errorf("oracle: model path: %w", err)
	}
	req.Model = model
	if err := Available(); err != nil {
		return Response{}, fmt.Errorf("oracle unavailable: %w", err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("oracle: encode request: %w", err)
	}
	out, stderr, runErr := c.run(in)
	var resp Response
	if err := json.Unmarshal(out, &resp); err != nil {
		if runErr != nil {
			return Response{}, fmt.Errorf("oracle: node oracle.mjs: %w; stderr: %s", runErr, tail(stderr))
		}
		return Response{}, fmt.Errorf("oracle: decode response: %w", err)
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("oracle: %s", resp.Error)
	}
	if runErr != nil {
		return resp, fmt.Errorf("oracle: node oracle.mjs: %w; stderr: %s", runErr, tail(stderr))
	}
	if len(resp.Results) != len(req.Ops) {
		return resp, fmt.Errorf("oracle: %d results for %d ops", len(resp.Results), len(req.Ops))
	}
	for i, r := range resp.Results {
		if r.Error != "" {
			return resp, fmt.Errorf("oracle: ops[%d] (%s): %s", i, r.Op, r.Error)
		}
	}
	return resp, nil
}

func (c Client) fill(req Request) Request {
	if req.Model == "" {
		req.Model = c.Model
	}
	if req.Threads == 0 {
		req.Threads = c.Threads
	}
	if req.Context == 0 {
		req.Context = c.Context
	}
	if req.Batch == 0 {
		req.Batch = c.Batch
	}
	req.FlashAttention = req.FlashAttention || c.FlashAttention
	if req.KVType == "" {
		req.KVType = c.KVType
	}
	if req.Ops == nil {
		req.Ops = []Op{}
	}
	return req
}

// run starts node on oracle.mjs with the request on stdin and returns its stdout,
// its stderr and the exit error (oracle.mjs answers {"error": ...} with status 1).
func (c Client) run(in []byte) ([]byte, string, error) {
	dir, err := Dir()
	if err != nil {
		return nil, "", err
	}
	ctx := context.Background()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "oracle.mjs"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.Bytes(), stderr.String(), err
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > stderrTail {
		s = "..." + s[len(s)-stderrTail:]
	}
	return s
}

// Info returns the model's vocabulary facts (BOS/EOS ids, vocab size, EOG set).
func (c Client) Info() (ModelInfo, error) {
	resp, err := c.Do(Request{})
	return resp.Model, err
}

// Tokenize runs llama.cpp's tokenizer; special parses special-token text such as
// "<s>"; addBOS prepends the model's BOS (llama.cpp itself adds nothing here).
func (c Client) Tokenize(text string, special, addBOS bool) ([]int32, error) {
	r, err := c.one(Op{Op: "tokenize", Text: text, Special: special, AddBOS: addBOS})
	if r.IDs == nil {
		r.IDs = []int32{}
	}
	return r.IDs, err
}

// Detokenize turns ids back into text; special renders special tokens as text.
func (c Client) Detokenize(ids []int32, special bool) (string, error) {
	r, err := c.one(Op{Op: "detokenize", IDs: ids, Special: special})
	return r.Text, err
}

// Greedy continues prompt (BOS included by the caller if wanted) by n greedy tokens,
// not stopping at EOS. steps[i] is the distribution ids[i] was picked from (steps[0]
// follows the prompt): the topK best when topK > 0, the full vocab when topK == 0,
// and no steps at all when topK < 0.
func (c Client) Greedy(prompt []int32, n, topK int) ([]int32, []Step, error) {
	op := Op{Op: "greedy", IDs: prompt, N: n, Probs: topK >= 0, TopK: max(topK, 0)}
	r, err := c.one(op)
	if err != nil {
		return nil, nil, err
	}
	if len(r.IDs) != n || (op.Probs && len(r.Steps) != n) {
		return nil, nil, fmt.Errorf("oracle: greedy returned %d ids and %d steps, want %d", len(r.IDs), len(r.Steps), n)
	}
	return r.IDs, r.Steps, nil
}

// Bench times a prefill of prompt and n greedy decode steps on a fresh sequence,
// after an untimed warmup.
func (c Client) Bench(prompt []int32, n int) (BenchResult, error) {
	r, err := c.one(Op{Op: "bench", IDs: prompt, N: n})
	return r.BenchResult, err
}

func (c Client) one(op Op) (Result, error) {
	resp, err := c.Do(Request{Ops: []Op{op}})
	if err != nil {
		return Result{}, err
	}
	return resp.Results[0], nil
}
