// Prefill and decode timing, measured inside node after model load.
import {checkFits, optBool, reqInt, tokenIds} from "./validate.mjs";
import {greedyOptions} from "./greedy.mjs";

const warmupPrompt = 16;
const warmupDecode = 4;

export async function bench({context, info}, op) {
    const prompt = tokenIds(op.ids, "ids", info.vocab, false);
    const n = reqInt(op.n, "n", 0);
    const warmup = optBool(op.warmup, "warmup", true);
    checkFits(context, prompt.length + n, "bench");
    if (warmup)
        await timeRun(context, prompt.slice(0, warmupPrompt), warmupDecode);
    const {prefillS, decodeS} = await timeRun(context, prompt, n);
    return {
        prefill_tokens: prompt.length, prefill_s: prefillS,
        decode_tokens: n, decode_s: decodeS,
        threads: context.currentThreads, batch: context.batchSize
    };
}

// timeRun evaluates the prompt (first yield = prefill + greedy pick) and then n
// single-token steps, each one llama_decode plus a greedy pick.
async function timeRun(context, prompt, n) {
    const sequence = context.getSequence();
    try {
        const generator = sequence.evaluateWithMetadata(prompt, {}, greedyOptions);
        try {
            const t0 = performance.now();
            let step = await generator.next();
            const t1 = performance.now();
            for (let i = 0; i < n && !step.done; i++)
                step = await generator.next();
            const t2 = performance.now();
            if (step.done)
                throw new Error("generation stopped early");
            return {prefillS: (t1 - t0) / 1000, decodeS: (t2 - t1) / 1000};
        } finally {
            await generator.return(undefined);
        }
    } finally {
        await sequence.dispose();
    }
}
