#!/usr/bin/env node
// tok_oracle.mjs: llama.cpp's tokenizer (through node-llama-cpp, CPU only) as the
// oracle for internal/tokenizer. Usage:
//   node tok_oracle.mjs MODEL.gguf < request.json > response.json
// Request: {"texts": ["...", ...], "pieces": true, "pre": "qwen2"}
// pre (optional) overrides tokenizer.ggml.pre, to run another pre-tokenizer over
// the same vocabulary. The response is the last line of stdout (llama.cpp prints
// an "Override:" line there when pre is given).
// Response:
//   {"info": {"bos","eos","eot","addBos","vocab","eog":[ids...],"attrs":{"id":attr,...}},
//    "results": [{"text","ids","idsSpecial","detok","detokSpecial"}, ...],
//    "pieces": {"plain": sha256hex, "special": sha256hex}}
// ids        = llama_tokenize(text, add_special=false, parse_special=false)
// idsSpecial = llama_tokenize(text, add_special=false, parse_special=true)
// detok        = llama_detokenize(ids, remove_special=false, unparse_special=false)
// detokSpecial = llama_detokenize(idsSpecial, remove_special=false, unparse_special=true)
// attrs: llama_token_attr bit masks of the tokens whose mask is not NORMAL (4).
// pieces: sha256 over every token's piece (id order, joined by U+0000), rendered
// without/with special tokens. A piece is what llama_detokenize([P, id]) adds after
// llama_detokenize([P]), P = BOS when the model has one, so the leading-space
// removal of SPM vocabularies falls on P. Strings cross into JS as UTF-8 decoded
// with U+FFFD for invalid bytes; the Go side applies the same lossy decoding.
import {createRequire} from "node:module";
import {createHash} from "node:crypto";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const oracleDir = path.resolve(here, "../../../tools/oracle");
const require = createRequire(path.join(oracleDir, "package.json"));
const {getLlama} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);

for (const name of ["log", "info", "debug", "warn"])
    console[name] = (...args) => console.error(...args);

const modelPath = process.argv[2];
if (!modelPath) {
    console.error("usage: node tok_oracle.mjs MODEL.gguf < request.json");
    process.exit(2);
}
const request = JSON.parse(await readStdin());
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({
    modelPath, gpuLayers: 0, vocabOnly: true,
    ...(request.pre != null ? {metadataOverrides: {tokenizer: {ggml: {pre: request.pre}}}} : {})
});
try {
    process.stdout.write(JSON.stringify(run(model, request)) + "\n");
} finally {
    await model.dispose();
    await llama.dispose();
}

function run(model, request) {
    const m = model._model;
    const vocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? 0;
    const info = {
        bos: model.tokens.bos ?? -1, eos: model.tokens.eos ?? -1, eot: model.tokens.eot ?? -1,
        addBos: model.tokens.shouldPrependBosToken, vocab, eog: [], attrs: {}
    };
    for (let id = 0; id < vocab; id++) {
        if (m.isEogToken(id)) info.eog.push(id);
        const attr = m.getTokenAttributes(id);
        if (attr !== 4) info.attrs[id] = attr;
    }
    const results = (request.texts ?? []).map((text) => {
        const ids = Array.from(m.tokenize(text, false));
        const idsSpecial = Array.from(m.tokenize(text, true));
        return {
            text, ids, idsSpecial,
            detok: m.detokenize(Uint32Array.from(ids), false),
            detokSpecial: m.detokenize(Uint32Array.from(idsSpecial), true)
        };
    });
    const out = {info, results};
    if (request.pieces)
        out.pieces = {plain: piecesHash(m, vocab, info.bos, false), special: piecesHash(m, vocab, info.bos, true)};
    return out;
}

function piecesHash(m, vocab, bos, special) {
    const prefix = bos >= 0 ? [bos] : [];
    const base = prefix.length ? m.detokenize(Uint32Array.from(prefix), special) : "";
    const pieces = [];
    for (let id = 0; id < vocab; id++) {
        const s = m.detokenize(Uint32Array.from([...prefix, id]), special);
        if (!s.startsWith(base))
            throw new Error(`piece of ${id} does not extend the prefix rendering`);
        pieces.push(s.slice(base.length));
    }
    return createHash("sha256").update(pieces.join("\u0000"), "utf8").digest("hex");
}

async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin)
        chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
}
