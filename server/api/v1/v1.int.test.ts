/**
 * /api/v1 over real HTTP, on the real database, with real llama.cpp running the
 * project's scripted tiny model (scripts/tiny-gguf): exact text, finish reasons,
 * usage, streaming, concurrency, aborts, every status each route can return, and
 * the usage row every request leaves behind.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_MODEL, writeTinyModel } from "../../../scripts/tiny-gguf/make-tiny-model";

// Small queue so a test can fill it; read by the pool when it is first imported below.
process.env.INFERENCE_MAX_QUEUE = "2";
process.env.API_MAX_BODY_BYTES = "65536";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../../services/audit/audit");
const { addModel } = await import("../../services/models/models");
const { createApiKey, revokeApiKey } = await import("../../services/api-keys/api-keys");
const { setTenantStatus } = await import("../../services/tenants/tenants");
const { usageWriter } = await import("../../services/usage/usage-writer");
const { localPool } = await import("../../inference/engine");
const { makeTenant, uniq } = await import("../../test/fixtures");
const { startV1Server } = await import("../../test/v1-server");

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string; slug: string };
let key: string;
const u = uniq();
const CHAT = `tiny-${u}`;
const EMBED = `tiny-embed-${u}`;
const BROKEN = `broken-${u}`;
const SLOW = `tiny-slow-${u}`;

async function newKey(opts: { scopes?: string[]; models?: string[] } = {}, tenantId = tenant.id) {
  return (await createApiKey(db(), CLI_ACTOR, tenantId, { name: `k-${uniq()}`, ...opts })).key;
}

function post(p: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/api/v1/${p}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function sse(res: Response): Promise<{ events: unknown[]; done: boolean }> {
  const text = await res.text();
  const events: unknown[] = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    const line = block.trim();
    if (!line) continue;
    expect(line.startsWith("data: ")).toBe(true);
    const data = line.slice(6);
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}

async function logRow(requestId: string) {
  await usageWriter().flush();
  return db().requestLog.findFirst({ where: { tenantId: tenant.id, requestId } });
}

const chatBody = (extra: object = {}) => ({ model: CHAT, messages: [{ role: "user", content: "Hi" }], ...extra });
const freeBody = (extra: object = {}) => ({ model: CHAT, prompt: "Once upon a time", ...extra });

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "switchyard-v1-"));
  const file = path.join(dir, "tiny.gguf");
  writeTinyModel(file);
  const broken = path.join(dir, "broken.gguf");
  writeFileSync(broken, "this is not a gguf file");
  tenant = await makeTenant();
  await addModel(db(), CLI_ACTOR, { name: CHAT, source: file, kind: "chat", contextSize: 512, parallel: 4, threads: 1 });
  await addModel(db(), CLI_ACTOR, { name: EMBED, source: file, kind: "embedding", contextSize: 512, threads: 1 });
  await addModel(db(), CLI_ACTOR, { name: BROKEN, source: broken, kind: "chat", contextSize: 512, parallel: 1 });
  await addModel(db(), CLI_ACTOR, { name: SLOW, source: file, kind: "chat", contextSize: 4096, parallel: 1, threads: 1 });
  key = await newKey();
  server = await startV1Server();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

describe("chat completions", () => {
  it("answers with the scripted reply, finish_reason stop, real usage and a request id", async () => {
    const res = await post("chat/completions", chatBody(), { "x-request-id": `mine-${u}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(`mine-${u}`);
    const body = await res.json();
    expect(body.object).toBe("chat.completion");
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.model).toBe(CHAT);
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0].message).toMatchObject({ role: "assistant", content: TINY_MODEL.chatReply });
    expect(body.choices[0].finish_reason).toBe("stop");
    expect(body.usage.completion_tokens).toBeGreaterThanOrEqual(TINY_MODEL.chatReplyTokenCount);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(TINY_MODEL.chatReplyTokenCount + 1);
    expect(body.usage.prompt_tokens).toBeGreaterThan(3);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    const row = await logRow(`mine-${u}`);
    expect(row).toMatchObject({ status: "ok", httpStatus: 200, modelUsed: CHAT, endpoint: "chat.completions", stream: false });
    expect(row!.completionTokens).toBe(body.usage.completion_tokens);
    expect(row!.promptTokens).toBe(body.usage.prompt_tokens);
  });

  it("streams chat.completion.chunk events token by token and ends with [DONE]", async () => {
    const res = await post("chat/completions", chatBody({ stream: true, stream_options: { include_usage: true } }), {
      "x-api-key": key,
      authorization: "",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("cache-control")).toContain("no-transform");
    const { events, done } = await sse(res);
    expect(done).toBe(true);
    const chunks = events as { object: string; choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[]; usage: unknown }[];
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks.length).toBeGreaterThanOrEqual(TINY_MODEL.chatReplyTokenCount - 1);
    expect(contentChunks.map((c) => c.choices[0]!.delta.content).join("")).toBe(TINY_MODEL.chatReply);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish!.choices[0]!.finish_reason).toBe("stop");
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: expect.any(Number), prompt_tokens: expect.any(Number) });
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "ok", stream: true });
    expect(row!.ttftMs).not.toBeNull();
  });

  it("stops at a stop sequence and at max_tokens (finish_reason length)", async () => {
    const stopped = await (await post("chat/completions", chatBody({ stop: ["Switchyard"] }))).json();
    expect(stopped.choices[0].message.content).toBe("Hello from ");
    expect(stopped.choices[0].finish_reason).toBe("stop");
    const cut = await (await post("chat/completions", chatBody({ max_tokens: 2 }))).json();
    expect(cut.choices[0].message.content).toBe("Hello from");
    expect(cut.choices[0].finish_reason).toBe("length");
    expect(cut.usage.completion_tokens).toBe(2);
  });

  it("enforces response_format json_schema through the grammar", async () => {
    const schema = {
      type: "object",
      properties: { ok: { type: "boolean" }, name: { type: "string", enum: ["a", "b"] } },
      required: ["ok", "name"],
    };
    const res = await post("chat/completions", chatBody({ max_tokens: 64, response_format: { type: "json_schema", json_schema: { name: "r", schema } } }));
    const body = await res.json();
    const parsed = JSON.parse(body.choices[0].message.content);
    expect(typeof parsed.ok).toBe("boolean");
    expect(["a", "b"]).toContain(parsed.name);
  });

  it("runs 4 concurrent streams to completion", async () => {
    const results = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const { events, done } = await sse(await post("chat/completions", chatBody({ stream: true })));
        const text = (events as { choices: { delta: { content?: string } }[] }[])
          .map((e) => e.choices[0]?.delta.content ?? "")
          .join("");
        return { text, done };
      }),
    );
    for (const r of results) expect(r).toEqual({ text: TINY_MODEL.chatReply, done: true });
  });

  it("works with the official openai client, stream and not", async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${server.url}/api/v1` });
    const c = await client.chat.completions.create({ model: CHAT, messages: [{ role: "user", content: "Hello?" }] });
    expect(c.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
    const stream = await client.chat.completions.create({ model: CHAT, messages: [{ role: "user", content: "Hey" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(TINY_MODEL.chatReply);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(CHAT);
    const emb = await client.embeddings.create({ model: EMBED, input: ["a", "b"] });
    expect(emb.data).toHaveLength(2);
  });
});

describe("completions", () => {
  it("runs to max_tokens on a free-running prompt, deterministically per seed", async () => {
    const a = await (await post("completions", freeBody({ max_tokens: 8, temperature: 1, seed: 42 }))).json();
    const b = await (await post("completions", freeBody({ max_tokens: 8, temperature: 1, seed: 42 }))).json();
    const c = await (await post("completions", freeBody({ max_tokens: 8, temperature: 1, seed: 7 }))).json();
    expect(a.object).toBe("text_completion");
    expect(a.choices[0].finish_reason).toBe("length");
    expect(a.usage.completion_tokens).toBe(8);
    expect(a.choices[0].text.length).toBeGreaterThan(0);
    expect(b.choices[0].text).toBe(a.choices[0].text);
    expect(c.choices[0].text).not.toBe(a.choices[0].text);
  });

  it("applies frequency/presence penalties (greedy output changes)", async () => {
    const plain = await (await post("completions", freeBody({ max_tokens: 24 }))).json();
    const penalised = await (await post("completions", freeBody({ max_tokens: 24, frequency_penalty: 2, presence_penalty: 2 }))).json();
    expect(penalised.choices[0].text).not.toBe(plain.choices[0].text);
  });

  it("streams text_completion chunks", async () => {
    const { events, done } = await sse(await post("completions", freeBody({ max_tokens: 6, stream: true })));
    expect(done).toBe(true);
    const last = events[events.length - 1] as { choices: { finish_reason: string }[] };
    expect(last.choices[0]!.finish_reason).toBe("length");
  });

  it("a client that disconnects cancels its generation, frees the slot, and is logged as cancelled", async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/api/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: SLOW, prompt: "Once upon a time", max_tokens: 4000, stream: true }),
      signal: ac.signal,
    });
    const requestId = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    let chunks = 0;
    let buffered = "";
    while (chunks < 5) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${buffered}`);
      buffered += new TextDecoder().decode(value);
      chunks = buffered.split("\n\n").filter((b) => b.startsWith("data: {")).length;
    }
    ac.abort();
    // The single slot of SLOW must come free: the next request is served.
    const next = await (await post("completions", { model: SLOW, prompt: "Once upon a time", max_tokens: 3 })).json();
    expect(next.choices[0].finish_reason).toBe("length");
    await expect.poll(async () => (await logRow(requestId))?.status, { timeout: 10_000 }).toBe("cancelled");
    const row = await logRow(requestId);
    expect(row!.completionTokens).toBeGreaterThanOrEqual(5);
    expect(row!.completionTokens).toBeLessThan(1000);
    expect(row!.httpStatus).toBe(499);
  });
});

describe("embeddings and models", () => {
  it("embeds a string or an array, float or base64, deterministically", async () => {
    const one = await (await post("embeddings", { model: EMBED, input: "hello world" })).json();
    expect(one.object).toBe("list");
    expect(one.data[0].object).toBe("embedding");
    const dim = one.data[0].embedding.length;
    expect(dim).toBeGreaterThan(8);
    const two = await (await post("embeddings", { model: EMBED, input: ["hello world", "other text"] })).json();
    expect(two.data).toHaveLength(2);
    expect(two.data[0].embedding).toEqual(one.data[0].embedding);
    expect(two.data[1].embedding).not.toEqual(one.data[0].embedding);
    expect(two.usage.prompt_tokens).toBeGreaterThan(one.usage.prompt_tokens);
    const b64 = await (await post("embeddings", { model: EMBED, input: "hello world", encoding_format: "base64" })).json();
    const raw = Buffer.from(b64.data[0].embedding, "base64");
    const floats = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    expect(floats.length).toBe(dim);
    expect(floats[0]).toBeCloseTo(one.data[0].embedding[0], 5);
  });

  it("lists the models this key may use, and one by id", async () => {
    const all = await (await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } })).json();
    expect(all.object).toBe("list");
    expect(all.data.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining([CHAT, EMBED]));
    const limited = await newKey({ models: [CHAT] });
    const some = await (await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${limited}` } })).json();
    expect(some.data.map((m: { id: string }) => m.id)).toEqual([CHAT]);
    const one = await fetch(`${server.url}/api/v1/models/${CHAT}`, { headers: { authorization: `Bearer ${key}` } });
    expect(await one.json()).toMatchObject({ id: CHAT, object: "model" });
  });
});

describe("errors: OpenAI envelope and the right status", () => {
  async function expectError(res: Response, status: number, code: string, param?: string) {
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toMatchObject({ code, type: expect.any(String), message: expect.any(String) });
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|node_modules/);
    if (param !== undefined) expect(body.error.param).toBe(param);
    return body.error;
  }

  it("400: malformed JSON, schema violations naming the field, unsupported parameters", async () => {
    await expectError(await post("chat/completions", "{not json"), 400, "invalid_json");
    await expectError(await post("chat/completions", { model: CHAT }), 400, "invalid_request", "messages");
    await expectError(await post("chat/completions", chatBody({ temperature: 5 })), 400, "invalid_request", "temperature");
    // n > 1 and tools are forwarded to remote backends now (tools.int.test.ts); a local model refuses n > 1 itself
    const n = await expectError(await post("chat/completions", chatBody({ n: 2 })), 400, "unsupported_parameter", "n");
    expect(n.message).toMatch(/n > 1 is not supported by local models/);
    await expectError(await post("chat/completions", chatBody({ tools: [{ type: "function" }] })), 400, "invalid_request", "tools.0.function");
    await expectError(await post("embeddings", { model: EMBED, input: [] }), 400, "invalid_request", "input");
    await expectError(await post("completions", { model: CHAT, prompt: ["a", "b"] }), 400, "invalid_request", "prompt");
    await expectError(await post("embeddings", { model: CHAT, input: "x" }), 400, "model_not_supported", "model");
  });

  it("401: missing, unknown, malformed and revoked keys all answer the same", async () => {
    const noKey = await fetch(`${server.url}/api/v1/models`);
    await expectError(noKey, 401, "invalid_api_key");
    for (const bad of ["sk-sy-unknownunknownunknownunknownunknown12", "garbage", "a.b.c"]) {
      await expectError(await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${bad}` } }), 401, "invalid_api_key");
    }
    const k = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "to-revoke" });
    expect((await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${k.key}` } })).status).toBe(200);
    await revokeApiKey(db(), CLI_ACTOR, tenant.id, { keyId: k.apiKey.id });
    await expectError(await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${k.key}` } }), 401, "invalid_api_key");
  });

  it("403: missing scope, model outside the allowlist, suspended tenant", async () => {
    const embedOnly = await newKey({ scopes: ["embeddings"] });
    await expectError(await post("chat/completions", chatBody(), { authorization: `Bearer ${embedOnly}` }), 403, "insufficient_scope");
    const limited = await newKey({ models: [EMBED] });
    await expectError(await post("chat/completions", chatBody(), { authorization: `Bearer ${limited}` }), 403, "model_not_allowed", "model");
    const other = await makeTenant();
    const otherKey = await newKey({}, other.id);
    await setTenantStatus(db(), CLI_ACTOR, other.id, "suspended");
    await expectError(await post("chat/completions", chatBody(), { authorization: `Bearer ${otherKey}` }), 403, "tenant_suspended");
  });

  it("404: unknown model, unknown route", async () => {
    await expectError(await post("chat/completions", chatBody({ model: "no-such-model" })), 404, "model_not_found", "model");
    await expectError(await post("chat/completions", chatBody({ model: "no-such-model", stream: true })), 404, "model_not_found");
    await expectError(await fetch(`${server.url}/api/v1/nope`, { headers: { authorization: `Bearer ${key}` } }), 404, "unknown_url");
  });

  it("413: body over the limit", async () => {
    const big = chatBody({ messages: [{ role: "user", content: "x".repeat(70_000) }] });
    await expectError(await post("chat/completions", big), 413, "request_too_large");
  });

  it("429 with Retry-After when the model's queue is full", async () => {
    const hold = new AbortController();
    const open = () =>
      fetch(`${server.url}/api/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: SLOW, prompt: "Once upon a time", max_tokens: 4000, stream: true }),
        signal: hold.signal,
      }).catch(() => null);
    // 1 running + 2 queued fills SLOW (parallel 1, INFERENCE_MAX_QUEUE=2).
    const running = await open();
    expect(running!.status).toBe(200);
    const queued = [open(), open()];
    await expect
      .poll(() => localPool().status().find((m) => m.name === SLOW)?.queued, { timeout: 10_000 })
      .toBe(2);
    const res = await post("completions", { model: SLOW, prompt: "Once upon a time", max_tokens: 2 });
    await expectError(res, 429, "model_overloaded");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    hold.abort();
    await Promise.all(queued);
    await expect.poll(() => localPool().status().find((m) => m.name === SLOW)?.active, { timeout: 10_000 }).toBe(0);
  });

  it("503: a model that fails to load, while other models keep serving", async () => {
    const err = await expectError(await post("chat/completions", chatBody({ model: BROKEN })), 503, "model_load_failed");
    expect(err.message).toMatch(/failed to load/);
    const ok = await post("chat/completions", chatBody());
    expect(ok.status).toBe(200);
  });

  it("each route answers each status it can return, in the envelope", async () => {
    const noScope = await newKey({ scopes: ["models"] });
    const routes: { path: string; scope: string; ok: object; model: string }[] = [
      { path: "chat/completions", scope: "chat", ok: chatBody({ max_tokens: 2 }), model: CHAT },
      { path: "completions", scope: "completions", ok: freeBody({ max_tokens: 2 }), model: CHAT },
      { path: "embeddings", scope: "embeddings", ok: { model: EMBED, input: "hi" }, model: EMBED },
    ];
    for (const r of routes) {
      expect((await post(r.path, r.ok)).status, r.path).toBe(200);
      await expectError(await post(r.path, "{"), 400, "invalid_json");
      await expectError(await post(r.path, { ...r.ok, model: 42 }), 400, "invalid_request", "model");
      await expectError(await post(r.path, r.ok, { authorization: "" }), 401, "invalid_api_key");
      await expectError(await post(r.path, r.ok, { authorization: `Bearer ${noScope}` }), 403, "insufficient_scope");
      await expectError(await post(r.path, { ...r.ok, model: "missing-model" }), 404, "model_not_found", "model");
      await expectError(await post(r.path, { ...r.ok, pad: "x".repeat(70_000) }), 413, "request_too_large");
    }
    const get = (p: string, k = key) => fetch(`${server.url}/api/v1/${p}`, { headers: k ? { authorization: `Bearer ${k}` } : {} });
    const embedOnly = await newKey({ scopes: ["embeddings"] });
    for (const p of ["models", `models/${CHAT}`]) {
      expect((await get(p)).status).toBe(200);
      await expectError(await get(p, ""), 401, "invalid_api_key");
      await expectError(await get(p, embedOnly), 403, "insufficient_scope");
    }
    await expectError(await get("models/missing-model"), 404, "model_not_found");
  });

  it("every one of those requests left a usage row", async () => {
    await usageWriter().flush();
    const rows = await db().requestLog.findMany({ where: { tenantId: tenant.id } });
    const statuses = new Set(rows.map((r) => r.httpStatus));
    for (const s of [200, 400, 403, 404, 413, 429, 503]) expect(statuses).toContain(s);
    expect(rows.every((r) => r.requestId.length > 0)).toBe(true);
  });
});
