/**
 * The Anthropic Messages API on a LOCAL model, over real HTTP with the official
 * `@anthropic-ai/sdk` and real llama.cpp: the project's tiny tool-calling GGUF
 * (scripts/tiny-gguf), reached through a `claude-…` alias as Claude Code would.
 * A Claude-Code-style tool loop (forced tool_use → tool_result → the model's text),
 * streamed and not; count_tokens exact (equal to the usage of the same request);
 * a client that disconnects mid-call is cancelled with the tokens it saw.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_MODEL } from "../../../../scripts/tiny-gguf/make-tiny-model";

const { db } = await import("../../../db/client");
const { CLI_ACTOR } = await import("../../../services/audit/audit");
const { createApiKey } = await import("../../../services/api-keys/api-keys");
const { createPolicy } = await import("../../../services/routing/policies");
const { usageWriter } = await import("../../../services/usage/usage-writer");
const { localPool } = await import("../../../inference/engine");
const { makeTenant, uniq } = await import("../../../test/fixtures");
const { startV1Server } = await import("../../../test/v1-server");
const { registerTinyModel } = await import("../../../test/tiny-model");

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string };
let key: string;
let MODEL: string;
let CLAUDE: string;
let client: Anthropic;

const WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather in a city",
  input_schema: {
    type: "object",
    properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
    required: ["city", "unit"],
    additionalProperties: false,
  },
};

async function logRow(requestId: string) {
  await usageWriter().flush();
  return db().requestLog.findFirstOrThrow({ where: { tenantId: tenant.id, requestId } });
}

beforeAll(async () => {
  MODEL = await registerTinyModel("anthropic", { tools: true });
  tenant = await makeTenant();
  key = (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k" })).key;
  CLAUDE = `claude-opus-4-${uniq()}`;
  await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: CLAUDE, strategy: "single", targets: [{ type: "model", model: MODEL }] as never });
  server = await startV1Server();
  client = new Anthropic({ baseURL: `${server.url}/api`, apiKey: key, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

describe("Anthropic Messages API on a local GGUF", () => {
  it("messages.create through a claude-* alias; count_tokens is exact: the usage of the same prompt", async () => {
    const body = { model: CLAUDE, max_tokens: 32, system: "You are terse.", messages: [{ role: "user" as const, content: "Hello?" }] };
    const msg = await client.messages.create(body);
    expect(msg).toMatchObject({ type: "message", role: "assistant", model: CLAUDE, content: [{ type: "text", text: TINY_MODEL.chatReply }], stop_reason: "end_turn" });
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    const { max_tokens: _m, ...countBody } = body;
    const count = await client.messages.countTokens(countBody);
    expect(count.input_tokens).toBe(msg.usage.input_tokens + (msg.usage.cache_read_input_tokens ?? 0));
    // a longer prompt counts more; tools are rendered into the prompt too
    const longer = await client.messages.countTokens({ ...countBody, messages: [{ role: "user", content: "Hello? Hello? Hello?" }] });
    expect(longer.input_tokens).toBeGreaterThan(count.input_tokens);
    const withTools = await client.messages.countTokens({ ...countBody, tools: [WEATHER] });
    expect(withTools.input_tokens).toBeGreaterThan(count.input_tokens + 10);
    const res = await fetch(`${server.url}/api/v1/messages/count_tokens`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify(countBody),
    });
    expect(res.headers.get("x-switchyard-token-count")).toBe("exact");
    expect(await res.json()).toEqual({ input_tokens: count.input_tokens });
  });

  it("max_tokens cuts the answer: stop_reason max_tokens", async () => {
    const msg = await client.messages.create({ model: CLAUDE, max_tokens: 2, messages: [{ role: "user", content: "Hello?" }] });
    expect(msg.stop_reason).toBe("max_tokens");
    expect(msg.usage.output_tokens).toBe(2);
  });

  it("a stop sequence ends the answer: stop_reason stop_sequence with the sequence, streamed or not", async () => {
    const body = { model: CLAUDE, max_tokens: 32, stop_sequences: ["nothing", "gateway"], messages: [{ role: "user" as const, content: "Hello?" }] };
    const msg = await client.messages.create(body);
    const cut = TINY_MODEL.chatReply.slice(0, TINY_MODEL.chatReply.indexOf("gateway"));
    expect(msg).toMatchObject({ content: [{ type: "text", text: cut }], stop_reason: "stop_sequence", stop_sequence: "gateway" });
    const streamed = await client.messages.stream(body).finalMessage();
    expect(streamed).toMatchObject({ content: [{ type: "text", text: cut }], stop_reason: "stop_sequence", stop_sequence: "gateway" });
  });

  it("a Claude-Code-style tool loop: forced tool_use (streamed) → tool_result → the model's text", async () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const stream = client.messages.stream({ model: CLAUDE, max_tokens: 128, tools: [WEATHER], tool_choice: { type: "any" }, messages });
    const jsonDeltas: string[] = [];
    stream.on("inputJson", (partial) => jsonDeltas.push(partial));
    const first = await stream.finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(call.id).toMatch(/^toolu_/);
    expect(call.name).toBe("get_weather");
    expect(Object.keys(call.input as object).sort()).toEqual(["city", "unit"]);
    expect(["celsius", "fahrenheit"]).toContain((call.input as { unit: string }).unit);
    expect(jsonDeltas.length).toBeGreaterThan(0);
    expect(JSON.parse(jsonDeltas.join(""))).toEqual(call.input);

    messages.push({ role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: '{"temp": 21}' }] });
    const second = await client.messages.create({ model: CLAUDE, max_tokens: 64, tools: [WEATHER], messages });
    expect(second.stop_reason).toBe("end_turn");
    expect(second.content).toEqual([{ type: "text", text: TINY_MODEL.chatReply }]);
    // the call and its result were rendered into the prompt (input_tokens leaves out what the
    // prompt cache served from the first turn's slot, as Anthropic's does)
    const prompt = (u: { input_tokens: number; cache_read_input_tokens?: number | null }) => u.input_tokens + (u.cache_read_input_tokens ?? 0);
    expect(prompt(second.usage)).toBeGreaterThan(prompt(first.usage));
    const count = await client.messages.countTokens({ model: CLAUDE, tools: [WEATHER], messages });
    expect(count.input_tokens).toBe(prompt(second.usage));
  });

  it("a client that disconnects mid-call cancels it: usage row cancelled with the tokens streamed", async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/api/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ model: CLAUDE, max_tokens: 256, stream: true, tools: [WEATHER], tool_choice: { type: "any" }, messages: [{ role: "user", content: "Paris?" }] }),
      signal: ac.signal,
    });
    const requestId = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes('"input_json_delta"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before the arguments started: ${seen}`);
      seen += new TextDecoder().decode(value);
    }
    ac.abort();
    await expect.poll(async () => (await logRow(requestId).catch(() => null))?.status, { timeout: 20_000 }).toBe("cancelled");
    const row = await logRow(requestId);
    expect(row).toMatchObject({ endpoint: "messages", stream: true, toolsOffered: 1 });
    expect(row.completionTokens).toBeGreaterThan(0);
    await expect.poll(() => localPool().status().find((s) => s.name === MODEL)?.active).toBe(0);
  });

  it("what a local model cannot take is a 400 in Anthropic's shape", async () => {
    const image = await fetch(`${server.url}/api/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({
        model: CLAUDE,
        max_tokens: 8,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://example.test/cat.png" } }, { type: "text", text: "What is it?" }] }],
      }),
    });
    expect(image.status).toBe(400);
    expect(await image.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("image") } });
  });
});
