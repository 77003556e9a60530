// Package scheduler runs many requests through one model with continuous
// batching, vLLM-style, in nano-vllm's size.
//
// Two layers:
//
//   - Scheduler (sched.go) is the control plane, pure Go and free of tensors:
//     a waiting and a running queue; each step mixes prefill chunks and decode
//     tokens of many sequences under a token budget (max_num_batched_tokens)
//     and a sequence cap (max_seqs), running sequences before waiting ones;
//     admission by free KV blocks (a Reserve that succeeds); when blocks run
//     out the NEWEST running sequence is preempted (its blocks released, its
//     prompt and generated tokens recomputed later) and nothing is admitted in
//     that step. Tests drive it with a fake KV.
//   - Engine (engine.go, step.go) is the data plane: one goroutine owns the
//     model.Runner and the paged KV cache, turns each Plan into one
//     model.Batch, samples every sequence with its own sampler, applies stop
//     rules, runs KV compression after each step and streams events to the
//     request's Stream. Requests enter with Engine.Submit from any goroutine.
//
// Determinism: the forward pass computes each token row independently of the
// other rows in the batch (per-row activation quantization, per-row dot
// products, per-sequence attention), so a greedy request produces the same
// tokens alone or batched with others; engine_test.go checks it.
package scheduler
