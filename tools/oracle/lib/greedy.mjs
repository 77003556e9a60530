// Greedy continuation with the next-token distribution of every step.
import {checkFits, optBool, optInt, reqInt, tokenIds} from "./validate.mjs";
import {encodeStep} from "./steps.mjs";

// Temperature 0 is node-llama-cpp's greedy chain (see oracle.mjs); yieldEogToken
// keeps going past EOS/EOT so exactly n tokens come back.
export const greedyOptions = Object.freeze({temperature: 0, yieldEogToken: true});

export async function greedy({context, info}, op) {
    const prompt = tokenIds(op.ids, "ids", info.vocab, false);
    const n = reqInt(op.n, "n", 0);
    const probs = optBool(op.probs, "probs", false);
    const topK = optInt(op.topk, "topk", 0, 0);
    // The last generated token is never evaluated.
    checkFits(context, prompt.length + Math.max(n - 1, 0), "greedy");
    const ids = [];
    const steps = [];
    if (n === 0)
        return probs ? {ids, steps} : {ids};
    const sequence = context.getSequence();
    try {
        const metadata = probs ? {probabilities: true} : {};
        for await (const out of sequence.evaluateWithMetadata(prompt, metadata, greedyOptions)) {
            ids.push(out.token);
            if (probs)
                steps.push(encodeStep(out.probabilities, topK, info.vocab));
            if (ids.length >= n)
                break;
        }
    } finally {
        await sequence.dispose();
    }
    if (ids.length !== n)
        throw new Error(`generation stopped after ${ids.length} of ${n} tokens`);
    return probs ? {ids, steps} : {ids};
}
