#!/usr/bin/env node
// oracle.mjs: llama.cpp (through node-llama-cpp 3.21.1, CPU only) as kvpack's
// correctness oracle and speed peer. JSON in on stdin, JSON out on stdout; every
// log line goes to stderr. The Go side lives in internal/oracle.
//
// Request:
//   {"model": "/abs/path.gguf", "threads": 1, "context": 2048, "batch": 512,
//    "flashAttention": false, "ops": [op, ...]}
//   threads: 0 or absent = node-llama-cpp's default (all math cores); otherwise the
//   exact count (the Llama instance is created with maxThreads: 0 so the hint is
//   honored). context: KV cache size in tokens (default 2048; llama.cpp may round it
//   up). batch: llama.cpp n_batch/n_ubatch (default 512, capped at context).
//   flashAttention: false (default), true or "auto".
// Ops (each runs on a fresh context sequence; no state is carried between ops):
//   {"op":"info"} -> {"bos":1,"eos":2,"eot":-1,"addBos":true,"vocab":512,"eog":[2],...}
//     (-1 = the model has no such token)
//   {"op":"tokenize","text":"...","special":bool,"addBos":bool} -> {"ids":[...]}
//   {"op":"detokenize","ids":[...],"special":bool} -> {"text":"..."}
//   {"op":"greedy","ids":[prompt],"n":64,"probs":bool,"topk":K}
//     -> {"ids":[n generated ids], "steps":[step, ...]} (steps only when probs)
//     step i is the distribution ids[i] was drawn from (step 0 = after the prompt):
//     topk > 0: {"top":[[id,prob],...]} (K best, prob desc, ties by id asc);
//     topk = 0: {"probs":"<base64 of vocab float32 little-endian, indexed by id>"}.
//   {"op":"bench","ids":[prompt],"n":128,"warmup":true}
//     -> {"prefill_tokens":P,"prefill_s":s,"decode_tokens":n,"decode_s":s}
// `node oracle.mjs --check` only loads the llama.cpp binary and answers
// {"ok":true,"llamaCpp":"<release>","nodeLlamaCpp":"3.21.1"}.
// Response: {"model":{...info...},"config":{threads,context,batch,flashAttention},
//   "results":[{"op":...,...}, ...]}, one result per op. An op that fails yields
//   {"op":...,"error":"..."} and the following ops still run; a request that cannot
//   run at all (bad JSON, model load failure) yields {"error":"..."} and exit code 1.
//
// What llama.cpp computes here (verified in node-llama-cpp's addon sources,
// llama/addon/AddonSampler.cpp and AddonContext.cpp, llama.cpp release bundled with
// 3.21.1):
// - tokenize = common_tokenize(vocab, text, add_special=false, parse_special=special):
//   llama.cpp never adds BOS/EOS here; addBos prepends model.tokens.bos ourselves
//   (an error if the model has none). "addBos" in info is the GGUF's
//   tokenizer.ggml.add_bos_token as llama.cpp resolves it (llama_vocab_get_add_bos).
// - detokenize = llama_detokenize(remove_special=false, unparse_special=special).
// - greedy: sampling runs with temperature 0, which makes node-llama-cpp's sampler
//   chain exactly [llama_sampler_init_greedy()] (no token bias, no repeat/DRY
//   penalty, no grammar; its topK=40/topP=0.95 defaults are created but NOT added to
//   the chain when greedy). The candidates are the full vocab with the raw logits of
//   llama_get_logits_ith. Greedy picks argmax (first/lowest id on exact ties) and does
//   not modify logits. The returned probabilities are then computed by the addon as
//   p_i = expf(l_i - max_l) / sum_j expf(l_j - max_l) in float32 over the WHOLE
//   vocab: the softmax of the raw logits at temperature 1, with no top-k/top-p/min-p
//   truncation. Raw logits are not exposed by node-llama-cpp (no JS API returns
//   llama_get_logits_ith's row); they are recoverable up to a per-step constant as log(p_i):
//   log(p_i) - log(p_j) = l_i - l_j to ~1e-5 absolute (float32 rounding of l - max
//   and of expf). Absolute probabilities share one per-step scale error from the
//   float32 sum over the vocab: they sum to 1 +- ~2e-4 for a 49152 vocab (observed
//   1.00017 on SmolLM2), so renormalize in float64 before comparing. Tokens more than
//   ~87 nats below the best underflow to denormals, beyond ~104 to 0 (SmolLM2's
//   worst token sits ~35-42 nats down, so in practice nothing underflows).
// - EOS/EOG does not stop greedy: yieldEogToken is set and generation continues
//   until n tokens, feeding the EOG token back like any other.
// - bench: a fresh sequence; prefill_s = time for llama_decode of the P prompt tokens
//   (batches of `batch`, logits only for the last one) plus one greedy pick;
//   decode_s = time for the n following single-token decode+greedy-pick steps
//   (n forward passes, as llama-bench's tg). performance.now() in node, after model
//   load and context creation; with warmup (default) a short untimed run first
//   faults in the mmapped weights.
// - KV cache is F16 (llama.cpp default). Ops share one context (one KV buffer); each
//   op takes a new sequence and disposes it (its KV cells are cleared). On
//   stories260K greedy tokens were identical for 1 and 2 threads and for flash
//   attention on/off (flash attention moves probabilities in the 4th decimal).

const stdoutWrite = process.stdout.write.bind(process.stdout);
// Keep stdout for the one JSON response: route every console method to stderr.
for (const name of ["log", "info", "debug", "warn"])
    console[name] = (...args) => console.error(...args);

const {runRequest, checkBinary} = await import("./lib/request.mjs");

try {
    // --check: only load the llama.cpp binary (scripts/setup-oracle.sh's smoke test).
    const response = process.argv.includes("--check")
        ? await checkBinary()
        : await runRequest(JSON.parse(await readStdin()));
    stdoutWrite(JSON.stringify(response) + "\n");
    process.exitCode = 0;
} catch (err) {
    console.error("oracle:", err?.stack ?? err);
    stdoutWrite(JSON.stringify({error: String(err?.message ?? err)}) + "\n");
    process.exitCode = 1;
}

async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin)
        chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
}
