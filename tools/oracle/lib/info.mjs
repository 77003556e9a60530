// Model facts the Go side needs to build prompts and read distributions.

export function modelInfo(model) {
    const t = model.tokens;
    const vocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? 0;
    const eog = [];
    for (let id = 0; id < vocab; id++) {
        if (model.isEogToken(id))
            eog.push(id);
    }
    return {
        architecture: model.fileInfo.metadata?.general?.architecture ?? "",
        vocab,
        bos: t.bos ?? -1,
        eos: t.eos ?? -1,
        eot: t.eot ?? -1,
        addBos: t.shouldPrependBosToken,
        eog,
        trainContext: model.trainContextSize
    };
}
