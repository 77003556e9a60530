// End-to-end check of `kvpack serve` with the official openai npm client.
//
// Usage: node tools/e2e/openai-e2e.mjs <baseURL> [apiKey]
//   baseURL: the server root, e.g. http://127.0.0.1:8000 (the client talks to <baseURL>/v1)
//
// Runs chat and completions, streaming and not, logprobs, stop sequences,
// the kv_compression extension and two error answers; prints one line per
// check and exits non-zero on the first failure.
import assert from "node:assert/strict";
import OpenAI from "openai";

const [baseURL, apiKey = "none"] = process.argv.slice(2);
if (!baseURL) {
  console.error("usage: node openai-e2e.mjs <baseURL> [apiKey]");
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    console.error(`FAIL ${name}: ${err?.stack ?? err}`);
    process.exit(1);
  }
}

async function collectStream(stream, pick) {
  let text = "";
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) {
      assert.equal(chunk.choices.length, 0, "the usage chunk has no choices");
      usage = chunk.usage;
      continue;
    }
    const c = chunk.choices[0];
    text += pick(c) ?? "";
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { text, finish, usage, chunks };
}

const models = await client.models.list();
const model = models.data[0]?.id;

await check("models.list", async () => {
  assert.ok(model, "a model is listed");
  assert.equal(models.data[0].object, "model");
});

let completionText = "";
await check("completions.create", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 16, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices.length, 1);
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.ok(r.usage.kv_peak_bytes > 0, "usage carries kv_peak_bytes");
  completionText = r.choices[0].text;
});

await check("completions.create stream", async () => {
  const s = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 16, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  const { text, finish, usage } = await collectStream(s, (c) => c.text);
  assert.equal(text, completionText, "streamed text equals the non-streamed one (greedy)");
  assert.ok(finish);
  assert.ok(usage && usage.completion_tokens > 0);
});

await check("completions logprobs and stop", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, r.usage.completion_tokens);
  assert.equal(lp.token_logprobs.length, lp.tokens.length);
  assert.equal(lp.top_logprobs.length, lp.tokens.length);
  if (completionText.length > 6) {
    const stop = completionText.slice(3, 6);
    const s = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 16, temperature: 0, stop: [stop] });
    assert.equal(s.choices[0].text, completionText.slice(0, completionText.indexOf(stop)));
    assert.equal(s.choices[0].finish_reason, "stop");
  }
});

let chatText = "";
await check("chat.completions.create", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "system", content: "You tell stories." }, { role: "user", content: "Tell me a story." }],
    max_tokens: 16, temperature: 0, seed: 1,
  });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.ok(r.usage.completion_tokens > 0);
  chatText = r.choices[0].message.content;
});

await check("chat.completions.create stream", async () => {
  const s = await client.chat.completions.create({
    model, messages: [{ role: "system", content: "You tell stories." }, { role: "user", content: "Tell me a story." }],
    max_tokens: 16, temperature: 0, seed: 1, stream: true, stream_options: { include_usage: true },
  });
  const { text, finish, usage } = await collectStream(s, (c) => c.delta?.content);
  assert.equal(text, chatText, "streamed chat text equals the non-streamed one (greedy)");
  assert.ok(finish);
  assert.ok(usage && usage.total_tokens > 0);
});

await check("chat logprobs", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Hi" }], max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3,
  });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const t of content) {
    assert.equal(typeof t.token, "string");
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(Array.isArray(t.bytes));
  }
});

await check("kv_compression extension", async () => {
  const r = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 64, temperature: 0,
    kv_compression: { policy: "streaming", budget: 16 },
  });
  assert.ok(r.usage.kv_tokens_evicted >= 0 && r.usage.kv_blocks_freed >= 0 && r.usage.kv_peak_bytes > 0);
});

await check("unknown model is a 404 model_not_found", async () => {
  await assert.rejects(client.completions.create({ model: "no-such-model", prompt: "x", max_tokens: 1 }), (err) => {
    assert.equal(err.status, 404);
    assert.equal(err.code, "model_not_found");
    return true;
  });
});

await check("context overflow is a 400 context_length_exceeded", async () => {
  const ctx = models.data[0].max_model_len;
  await assert.rejects(client.completions.create({ model, prompt: "Once", max_tokens: ctx + 1 }), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, "context_length_exceeded");
    assert.equal(err.param, "max_tokens");
    return true;
  });
});

console.log("e2e: all checks passed");
