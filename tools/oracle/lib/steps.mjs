// Encoding of one next-token distribution (a Map id -> prob, sorted by logit desc).

export function encodeStep(probabilities, topK, vocab) {
    if (probabilities == null)
        throw new Error("llama.cpp returned no probabilities");
    if (topK > 0)
        return {top: topEntries(probabilities, topK)};
    return {probs: denseBase64(probabilities, vocab)};
}

// topEntries takes the K best [id, prob] pairs. The map is already sorted by logit
// (std::sort, so ties come in no set order); ties at the cut are kept and the
// result is ordered by prob desc then id asc so it is deterministic.
function topEntries(probabilities, k) {
    const picked = [];
    let cut = Infinity;
    for (const [id, p] of probabilities) {
        if (picked.length >= k && p < cut)
            break;
        picked.push([id, p]);
        if (picked.length === k)
            cut = p;
    }
    picked.sort((a, b) => (b[1] - a[1]) || (a[0] - b[0]));
    return picked.slice(0, k);
}

// denseBase64 writes the whole distribution as float32 little-endian, indexed by id.
function denseBase64(probabilities, vocab) {
    const size = Math.max(vocab, probabilities.size);
    const view = new DataView(new ArrayBuffer(size * 4));
    for (const [id, p] of probabilities) {
        if (id < 0 || id >= size)
            throw new Error(`probability for token ${id} outside the vocab (${size})`);
        view.setFloat32(id * 4, p, true);
    }
    return Buffer.from(view.buffer).toString("base64");
}
