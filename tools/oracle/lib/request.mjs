// Request handling: load llama.cpp and the model once, then run each op in order.
import {readFile} from "node:fs/promises";
import {getLlama} from "node-llama-cpp";
import {optBool, optInt} from "./validate.mjs";
import {modelInfo} from "./info.mjs";
import {runOp} from "./ops.mjs";

const llamaOptions = {
    gpu: false, build: "never", logLevel: "error", maxThreads: 0,
    logger: (level, message) => process.stderr.write(`llama.cpp ${level}: ${message}\n`)
};

// checkBinary loads the prebuilt llama.cpp CPU binary and reports its versions.
export async function checkBinary() {
    const llama = await getLlama(llamaOptions);
    try {
        return {ok: true, llamaCpp: llama.llamaCppRelease?.release ?? "", nodeLlamaCpp: await packageVersion()};
    } finally {
        await llama.dispose();
    }
}

async function packageVersion() {
    const url = new URL("../node_modules/node-llama-cpp/package.json", import.meta.url);
    return JSON.parse(await readFile(url, "utf8")).version;
}

export async function runRequest(request) {
    if (request === null || typeof request !== "object")
        throw new Error("request must be a JSON object");
    if (typeof request.model !== "string" || request.model === "")
        throw new Error("request.model (path to a .gguf file) is required");
    if (!Array.isArray(request.ops))
        throw new Error("request.ops must be an array");
    const threads = optInt(request.threads, "threads", 0, 0);
    const contextSize = optInt(request.context, "context", 2048, 1);
    const batchSize = Math.min(optInt(request.batch, "batch", 512, 1), contextSize);
    const flashAttention = request.flashAttention === "auto"
        ? "auto"
        : optBool(request.flashAttention, "flashAttention", false);
    // KV cache element type: llama.cpp's default is F16; "F32" makes the oracle's
    // attention as exact as kvpack's F32 reference path.
    const kvType = request.kvType === undefined ? "F16" : String(request.kvType);
    if (kvType !== "F16" && kvType !== "F32")
        throw new Error(`request.kvType must be "F16" or "F32", got ${JSON.stringify(request.kvType)}`);

    const llama = await getLlama(llamaOptions);
    try {
        const model = await llama.loadModel({modelPath: request.model, gpuLayers: 0});
        try {
            const context = await model.createContext({
                contextSize, batchSize, flashAttention, sequences: 1,
                experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType,
                ...(threads > 0 ? {threads} : {})
            });
            try {
                const info = modelInfo(model);
                const env = {model, context, info};
                const results = [];
                for (const op of request.ops) {
                    try {
                        results.push({op: op?.op, ...await runOp(env, op)});
                    } catch (err) {
                        // An op's failure is its own result; the next op still runs.
                        console.error(`oracle: op ${JSON.stringify(op?.op)}:`, err?.stack ?? err);
                        results.push({op: op?.op, error: String(err?.message ?? err)});
                    }
                }
                const config = {
                    threads: context.currentThreads, context: context.contextSize,
                    batch: context.batchSize, flashAttention: context.flashAttention, kvType
                };
                return {model: info, config, results};
            } finally {
                await context.dispose();
            }
        } finally {
            await model.dispose();
        }
    } finally {
        await llama.dispose();
    }
}
