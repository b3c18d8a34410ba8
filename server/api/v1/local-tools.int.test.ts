/**
 * Tool calling through /api/v1 on a LOCAL model, over real HTTP with the official
 * `openai` SDK and real llama.cpp: the project's tiny model with a Qwen-style
 * tool-calling template (scripts/tiny-gguf). An agent loop (forced call → tool
 * result → text answer), streamed calls assembled by the SDK, an abort in the middle
 * of a call (usage row cancelled with the tokens streamed, the slot free again), what a
 * local model refuses, and the usage row's tool counts.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_MODEL } from "../../../scripts/tiny-gguf/make-tiny-model";

const { localPool } = await import("../../inference/engine");
const { startV1Server } = await import("../../test/v1-server");
const { usageRowOf, v1Tenant } = await import("../../test/v1-harness");
const { registerTinyModel } = await import("../../test/tiny-model");

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string };
let key: string;
let MODEL: string;
let client: OpenAI;

const WEATHER = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city", "unit"],
      additionalProperties: false,
    },
  },
};

beforeAll(async () => {
  MODEL = await registerTinyModel("v1-tools", { tools: true });
  server = await startV1Server();
  ({ tenant, key, client } = await v1Tenant(server.url));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

const logRow = (requestId: string) => usageRowOf(tenant.id, requestId);

describe("tool calling on a local GGUF", () => {
  it("an agent loop with the openai SDK: forced call → tool result → the model's answer", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER], tool_choice: "required", temperature: 0 });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type === "function" && call.function.name).toBe("get_weather");
    expect(call.id).toMatch(/^call_/);
    const args = JSON.parse(call.type === "function" ? call.function.arguments : "") as Record<string, unknown>;
    expect(Object.keys(args).sort()).toEqual(["city", "unit"]);
    expect(typeof args.city).toBe("string");
    expect(["celsius", "fahrenheit"]).toContain(args.unit);

    messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: '{"temp": 21}' });
    const second = await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER], temperature: 0 });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
    expect(second.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens); // the call and its result were rendered

    const rows = await Promise.all([first, second].map((c) => logRow(c.id.replace(/^chatcmpl-/, "req_"))));
    expect(rows.map((r) => [r.status, r.toolsOffered, r.toolCalls])).toEqual([
      ["ok", 1, 1],
      ["ok", 1, 0],
    ]);
  });

  it("stream: the SDK assembles the call from our fragments (index 0, id and name first, arguments after)", async () => {
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Paris?" }], tools: [WEATHER], tool_choice: { type: "function", function: { name: "get_weather" } }, stream: true }),
    });
    const chunks = (await res.text())
      .split("\n\n")
      .map((b) => b.trim())
      .filter((b) => b && b !== "data: [DONE]")
      .map((b) => JSON.parse(b.slice(6)) as { choices: { delta: { tool_calls?: { index: number; id?: string; function: { name?: string; arguments?: string } }[] }; finish_reason: string | null }[] });
    const frags = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(frags.length).toBeGreaterThan(1);
    expect(frags.every((f) => f.index === 0)).toBe(true);
    expect(frags[0]).toMatchObject({ id: expect.stringMatching(/^call_/), function: { name: "get_weather" } });
    expect(frags.slice(1).every((f) => f.id === undefined && f.function.name === undefined)).toBe(true);
    expect(JSON.parse(frags.map((f) => f.function.arguments ?? "").join(""))).toMatchObject({ city: expect.any(String) });
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("tool_calls");

    const final = await client.chat.completions
      .stream({ model: MODEL, messages: [{ role: "user", content: "Paris?" }], tools: [WEATHER], tool_choice: "required" })
      .finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    const tc = final.choices[0]!.message.tool_calls![0]!;
    expect(tc.type === "function" && JSON.parse(tc.function.arguments)).toMatchObject({ city: expect.any(String) });
  });

  it("a client that disconnects in the middle of a call cancels it: usage row cancelled with the streamed tokens, slot free", async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Paris?" }], tools: [WEATHER], tool_choice: "required", stream: true }),
      signal: ac.signal,
    });
    const requestId = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes('"arguments":"{')) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended before the arguments started");
      seen += new TextDecoder().decode(value);
    }
    ac.abort();
    await expect.poll(async () => (await logRow(requestId).catch(() => null))?.status, { timeout: 20_000 }).toBe("cancelled");
    const row = await logRow(requestId);
    expect(row.completionTokens).toBeGreaterThan(0);
    expect(row.toolsOffered).toBe(1);
    await expect.poll(() => localPool().status().find((s) => s.name === MODEL)?.active).toBe(0);
    // and the model serves the next request
    const next = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Hi" }] });
    expect(next.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
  });

  it("refuses what a local model cannot do with a 400 naming it", async () => {
    const bad = async (extra: object, code: string, param: string) => {
      const r = await fetch(`${server.url}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Hi" }], ...extra }),
      });
      expect(r.status).toBe(400);
      const e = ((await r.json()) as { error: { code: string; param: string; message: string } }).error;
      expect([e.code, e.param]).toEqual([code, param]);
      return e.message;
    };
    const image = { messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] }] };
    expect(await bad(image, "model_not_supported", "messages")).toContain(`'${MODEL}'`);
    await bad({ logprobs: true }, "unsupported_parameter", "logprobs");
    await bad({ n: 2 }, "unsupported_parameter", "n");
    await bad({ modalities: ["text", "audio"], audio: { voice: "alloy", format: "wav" } }, "unsupported_parameter", "audio");
    await bad({ tools: [WEATHER], response_format: { type: "json_object" } }, "unsupported_parameter", "response_format");
    const withPattern = (strict: boolean) => ({ ...WEATHER, function: { ...WEATHER.function, strict, parameters: { type: "object", properties: { city: { type: "string", pattern: "^[A-Z]" } }, required: ["city"] } } });
    expect(await bad({ tools: [withPattern(true)] }, "invalid_tool_schema", "tools")).toMatch(/pattern/);
    // not strict (OpenAI's default): the pattern guides the model instead, as at OpenAI
    const ok = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Hi" }], tools: [withPattern(false)], tool_choice: "required" });
    expect(ok.choices[0]!.finish_reason).toBe("tool_calls");
    await bad({ messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "call_nope", content: "1" }], tools: [WEATHER] }, "invalid_tool_message", "messages");
  });
});
