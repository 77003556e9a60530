// Request validation helpers: every bad input becomes an Error naming the field.

export function optInt(value, name, def, min) {
    if (value === undefined || value === null)
        return def;
    if (!Number.isInteger(value) || value < min)
        throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    return value;
}

export function reqInt(value, name, min) {
    if (value === undefined || value === null)
        throw new Error(`${name} is required`);
    return optInt(value, name, 0, min);
}

export function optBool(value, name, def) {
    if (value === undefined || value === null)
        return def;
    if (typeof value !== "boolean")
        throw new Error(`${name} must be a boolean, got ${JSON.stringify(value)}`);
    return value;
}

// tokenIds checks a list of token ids against the vocabulary size (when known);
// an out-of-range id would abort llama.cpp instead of failing cleanly.
export function tokenIds(value, name, vocab, allowEmpty) {
    if (!Array.isArray(value))
        throw new Error(`${name} must be an array of token ids`);
    if (!allowEmpty && value.length === 0)
        throw new Error(`${name} must not be empty`);
    for (const id of value) {
        if (!Number.isInteger(id) || id < 0 || (vocab > 0 && id >= vocab))
            throw new Error(`${name}: invalid token id ${JSON.stringify(id)} (vocab ${vocab})`);
    }
    return value;
}

// checkFits rejects work that would overflow the KV cache: node-llama-cpp would
// silently shift the context (drop old tokens), which is not what an oracle wants.
export function checkFits(context, positions, what) {
    if (positions > context.contextSize)
        throw new Error(`${what} needs ${positions} KV positions but the context holds ${context.contextSize}; raise "context"`);
}
