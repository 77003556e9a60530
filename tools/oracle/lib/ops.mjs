// Op dispatch plus the tokenizer ops. Every op that evaluates gets a fresh sequence.
import {optBool, tokenIds} from "./validate.mjs";
import {greedy} from "./greedy.mjs";
import {bench} from "./bench.mjs";

export async function runOp(env, op) {
    if (op === null || typeof op !== "object")
        throw new Error("op must be a JSON object");
    switch (op.op) {
        case "info": return {...env.info};
        case "tokenize": return tokenize(env, op);
        case "detokenize": return detokenize(env, op);
        case "greedy": return greedy(env, op);
        case "bench": return bench(env, op);
        default: throw new Error(`unknown op ${JSON.stringify(op.op)} (want info, tokenize, detokenize, greedy or bench)`);
    }
}

function tokenize({model, info}, op) {
    if (typeof op.text !== "string")
        throw new Error("text must be a string");
    const special = optBool(op.special, "special", false);
    const addBos = optBool(op.addBos, "addBos", false);
    const ids = Array.from(model.tokenize(op.text, special));
    if (addBos) {
        if (info.bos < 0)
            throw new Error("addBos: the model has no BOS token");
        ids.unshift(info.bos);
    }
    return {ids};
}

function detokenize({model, info}, op) {
    const ids = tokenIds(op.ids ?? [], "ids", info.vocab, true);
    const special = optBool(op.special, "special", false);
    return {text: model.detokenize(ids, special)};
}
