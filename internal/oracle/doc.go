// Package oracle runs llama.cpp (node-llama-cpp 3.21.1, CPU build) as kvpack's
// correctness oracle and speed peer. Each call starts one node process running
// tools/oracle/oracle.mjs, sends it one JSON request on stdin and reads one JSON
// response from stdout; the model is loaded once per call, so batch ops with Do.
//
// What comes back (see the comment at the top of tools/oracle/oracle.mjs):
// token ids from llama.cpp's tokenizer (BOS only when asked for), greedy
// continuations that do not stop at EOS, per-step next-token distributions that are
// the float32 softmax of the raw logits over the whole vocab (no top-k/top-p), and
// prefill/decode timings measured inside node after model load.
//
// Tests call RequireOrSkip first: it skips loudly when node or node-llama-cpp is
// missing, and fails instead when CI or KVPACK_REQUIRE_ORACLE=1 is set.
package oracle
