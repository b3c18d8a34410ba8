// Tool calling on local models through real llama.cpp: the plain tiny model (ChatML wrapper,
// node-llama-cpp's generic `||call:` syntax, one call per answer) and the tool variant (qwen2 +
// Qwen2.5-style template → node-llama-cpp's Qwen wrapper, `<tool_call>` syntax, parallel calls).
// The scripted weights answer every chat with TINY_MODEL.chatReply, so tool_choice "auto" gives
// text; forced choices ("required", named) must give calls whatever the weights say.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { designTinyModel, TINY_MODEL, TINY_TOOL_MODEL, writeTinyModel, writeTinyToolModel } from "../../scripts/tiny-gguf/make-tiny-model";
import { isAppError } from "../errors";
import { LocalPool } from "./local-pool";
import type { ChatMessage, GenerateEvent, GenerateRequest, ToolDefinition } from "./types";

let dir: string;
let pool: LocalPool;

const MODELS = [
  { model: "chatml", wrapper: "ChatML", parallel: false },
  { model: "qwen", wrapper: TINY_TOOL_MODEL.chatWrapper, parallel: true },
] as const;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-tools-"));
  pool = new LocalPool();
  const plain = writeTinyModel(path.join(dir, "tiny.gguf")).path;
  const tools = writeTinyToolModel(path.join(dir, "tiny-tools.gguf")).path;
  await pool.register({ name: "chatml", path: plain, kind: "chat", contextSize: 2048, parallel: 2, threads: 1, chatTemplate: "chatml" });
  // "auto": the template must resolve to the built-in Qwen wrapper by itself
  await pool.register({ name: "qwen", path: tools, kind: "chat", contextSize: 2048, parallel: 2, threads: 1, chatTemplate: "auto" });
  await Promise.all([pool.load("chatml"), pool.load("qwen")]);
});

afterAll(async () => {
  await pool?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const WEATHER: ToolDefinition = {
  name: "get_weather",
  description: "Current weather in a city",
  parameters: {
    type: "object",
    title: "ignored annotation",
    properties: {
      city: { type: "string", description: "City name" },
      unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      days: { type: "integer" },
      detailed: { type: "boolean" }, // optional: nullable in the grammar, nulls stripped
    },
    required: ["city", "unit", "days"],
    additionalProperties: false,
  },
};
const TIME: ToolDefinition = {
  name: "get_time",
  parameters: { type: "object", properties: { zone: { type: "string" }, utc: { type: "boolean" } }, required: ["zone", "utc"] },
};
const TOOLS = [WEATHER, TIME];

function chat(messages: ChatMessage[], extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { mode: "chat", messages, tools: TOOLS, maxTokens: 120, temperature: 0, tenantId: "tnt_tools", ...extra };
}
const ASK: ChatMessage[] = [{ role: "user", content: "What is the weather in Paris?" }];

interface Call {
  id: string;
  name: string;
  arguments: string;
  fragments: number;
}

async function run(model: string, req: GenerateRequest, signal = new AbortController().signal) {
  const events: GenerateEvent[] = [];
  for await (const ev of pool.generate(model, req, signal)) events.push(ev);
  return summarise(events);
}

function summarise(events: GenerateEvent[]) {
  const calls: Call[] = [];
  let text = "";
  let tokens = 0;
  for (const ev of events) {
    if (ev.type === "delta") {
      text += ev.text;
      tokens += ev.tokens;
    } else if (ev.type === "tool_call") {
      tokens += ev.tokens ?? 0;
      if (ev.id !== undefined) {
        expect(ev.index).toBe(calls.length); // id and name come first, once per call
        calls.push({ id: ev.id, name: ev.name!, arguments: "", fragments: 0 });
      }
      const call = calls[ev.index]!;
      expect(call).toBeDefined();
      if (ev.arguments !== undefined) {
        call.arguments += ev.arguments;
        call.fragments += 1;
      }
    }
  }
  const done = events.at(-1);
  return { events, calls, text, tokens, done: done?.type === "done" ? done : undefined };
}

/** A tiny JSON-schema check for the subset the test tools use. */
function validate(schema: Record<string, unknown>, value: unknown, where = "$"): string[] {
  const errors: string[] = [];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${where}: not in enum`);
  switch (schema.type) {
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${where}: not an object`];
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const r of (schema.required ?? []) as string[]) if (!(r in value)) errors.push(`${where}.${r}: missing`);
      for (const [k, v] of Object.entries(value)) {
        if (!props[k]) errors.push(`${where}.${k}: not allowed`);
        else errors.push(...validate(props[k], v, `${where}.${k}`));
      }
      break;
    }
    case "string":
      if (typeof value !== "string") errors.push(`${where}: not a string`);
      break;
    case "integer":
      if (!Number.isInteger(value)) errors.push(`${where}: not an integer`);
      break;
    case "boolean":
      if (typeof value !== "boolean") errors.push(`${where}: not a boolean`);
      break;
  }
  return errors;
}

function expectValidCall(call: Call) {
  const tool = TOOLS.find((t) => t.name === call.name);
  expect(tool, call.name).toBeDefined();
  const args = JSON.parse(call.arguments) as unknown;
  expect(validate(tool!.parameters!, args)).toEqual([]);
  expect(call.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
  return args as Record<string, unknown>;
}

async function expectAppError(p: Promise<unknown>, match: { code: string; param?: string; message?: RegExp }) {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, "expected an AppError").not.toBeNull();
  expect(isAppError(e)).toBe(true);
  const err = e as { kind: string; code: string; param?: string; message: string; status: number };
  expect(err.status).toBe(400);
  expect(err.code).toBe(match.code);
  if (match.param) expect(err.param).toBe(match.param);
  if (match.message) expect(err.message).toMatch(match.message);
}

describe.each(MODELS)("tool calling on $model ($wrapper wrapper)", ({ model, wrapper }) => {
  it("resolves the expected chat wrapper", () => {
    expect(pool.status().find((s) => s.name === model)?.chatWrapper).toBe(wrapper);
  });

  it('tool_choice "auto": the scripted model answers in text', async () => {
    const r = await run(model, chat(ASK, { toolChoice: "auto" }));
    expect(r.calls).toEqual([]);
    expect(r.text).toBe(TINY_MODEL.chatReply);
    expect(r.done?.finishReason).toBe("stop");
    expect(r.tokens).toBe(r.done?.usage.completionTokens);
  });

  it('tool_choice "none": no functions offered, same text as without tools', async () => {
    const none = await run(model, chat(ASK, { toolChoice: "none" }));
    const plain = await run(model, chat(ASK, { tools: undefined }));
    expect(none.calls).toEqual([]);
    expect(none.text).toBe(TINY_MODEL.chatReply);
    expect(none.done?.usage.promptTokens).toBe(plain.done?.usage.promptTokens); // the tools are not even documented
  });

  it("a named tool_choice forces a call to that tool, with valid arguments", async () => {
    for (const tool of TOOLS) {
      const r = await run(model, chat(ASK, { toolChoice: { name: tool.name } }));
      expect(r.text).toBe("");
      expect(r.calls.map((c) => c.name)).toEqual([tool.name]);
      expectValidCall(r.calls[0]!);
      expect(r.done?.finishReason).toBe("tool_calls");
      expect(r.tokens).toBe(r.done?.usage.completionTokens);
      expect(r.done!.usage.completionTokens).toBeGreaterThan(5);
    }
  });

  it('tool_choice "required" forces a call to one of the tools; optional nulls are stripped', async () => {
    const r = await run(model, chat(ASK, { toolChoice: "required" }));
    expect(r.calls).toHaveLength(1);
    const args = expectValidCall(r.calls[0]!);
    for (const v of Object.values(args)) expect(v).not.toBeNull();
    expect(r.done?.finishReason).toBe("tool_calls");
    expect(r.tokens).toBe(r.done?.usage.completionTokens);
  });

  it("streams the arguments of a tool without optional properties; sends the others whole", async () => {
    const time = await run(model, chat(ASK, { toolChoice: { name: "get_time" } }));
    expect(time.calls[0]!.fragments).toBeGreaterThan(3);
    const weather = await run(model, chat(ASK, { toolChoice: { name: "get_weather" } }));
    expect(weather.calls[0]!.fragments).toBe(1);
    expect(JSON.parse(weather.calls[0]!.arguments)).not.toHaveProperty("detailed", null);
  });

  it("gives every call a fresh id", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await run(model, chat(ASK, { toolChoice: "required" }));
      for (const c of r.calls) ids.add(c.id);
    }
    expect(ids.size).toBe(3);
  });

  it("an agent loop: forced call, then the result and auto → a text answer", async () => {
    const turn1 = await run(model, chat(ASK, { toolChoice: "required" }));
    const call = turn1.calls[0]!;
    const history: ChatMessage[] = [
      ...ASK,
      { role: "assistant", content: null, toolCalls: [{ id: call.id, name: call.name, arguments: call.arguments }] },
      { role: "tool", toolCallId: call.id, content: '{"temperature": 21, "sky": "clear"}' },
    ];
    const turn2 = await run(model, chat(history, { toolChoice: "auto" }));
    expect(turn2.calls).toEqual([]);
    expect(turn2.text).toBe(TINY_MODEL.chatReply);
    expect(turn2.done?.finishReason).toBe("stop");
    expect(turn2.done!.usage.promptTokens).toBeGreaterThan(turn1.done!.usage.promptTokens);
  });

  it("pairs tool results with calls by id, not by position", async () => {
    const calls = [
      { id: "call_a", name: "get_weather", arguments: '{"city":"Paris","unit":"celsius","days":1}' },
      { id: "call_b", name: "get_time", arguments: '{"zone":"CET","utc":false}' },
    ];
    const results: ChatMessage[] = [
      { role: "tool", toolCallId: "call_a", content: "sunny" },
      { role: "tool", toolCallId: "call_b", content: "12:00" },
    ];
    const inOrder = await run(model, chat([...ASK, { role: "assistant", content: "Let me check.", toolCalls: calls }, ...results]));
    const reversed = await run(model, chat([...ASK, { role: "assistant", content: "Let me check.", toolCalls: calls }, ...results.reverse()]));
    expect(reversed.text).toBe(TINY_MODEL.chatReply);
    // the same rendered history (results follow their calls' order either way)
    expect(reversed.done?.usage.promptTokens).toBe(inOrder.done?.usage.promptTokens);
  });

  it("renders history with tool calls also with tool_choice none", async () => {
    const r = await run(
      model,
      chat(
        [
          ...ASK,
          { role: "assistant", content: null, toolCalls: [{ id: "call_x", name: "get_time", arguments: '{"zone":"UTC","utc":true}' }] },
          { role: "tool", toolCallId: "call_x", content: "noon" },
        ],
        { toolChoice: "none" },
      ),
    );
    expect(r.text).toBe(TINY_MODEL.chatReply);
  });

  it("counts a prompt (count_tokens) as its run does: tools, a named choice, tool results", async () => {
    const afterResult: ChatMessage[] = [
      ...ASK,
      { role: "assistant", content: null, toolCalls: [{ id: "call_c", name: "get_time", arguments: '{"zone":"UTC","utc":true}' }] },
      { role: "tool", toolCallId: "call_c", content: "noon" },
    ];
    const cases: GenerateRequest[] = [
      chat(ASK, { tools: undefined }),
      chat(ASK),
      chat(ASK, { toolChoice: { name: "get_time" } }),
      chat(afterResult),
      chat(afterResult, { toolChoice: "none" }),
    ];
    const counts: number[] = [];
    for (const req of cases) {
      const count = await pool.countPromptTokens(model, { ...req });
      const r = await run(model, req);
      expect(count).toBe(r.done!.usage.promptTokens);
      counts.push(count);
    }
    // the offered tools are rendered into the prompt, and only the offered ones
    expect(counts[1]).toBeGreaterThan(counts[0]!);
    expect(counts[2]).toBeLessThan(counts[1]!);
  });

  it("refuses a tool message whose id matches no call, and a call without a result", async () => {
    const call = { id: "call_1", name: "get_time", arguments: '{"zone":"UTC","utc":true}' };
    await expectAppError(
      run(model, chat([...ASK, { role: "assistant", content: null, toolCalls: [call] }, { role: "tool", toolCallId: "call_2", content: "x" }])),
      { code: "invalid_tool_message", param: "messages", message: /call_2/ },
    );
    await expectAppError(run(model, chat([...ASK, { role: "assistant", content: null, toolCalls: [call] }, { role: "user", content: "and?" }])), {
      code: "invalid_tool_message",
      param: "messages",
      message: /call_1/,
    });
  });

  it("refuses a schema keyword it cannot enforce, naming keyword and tool", async () => {
    const bad: ToolDefinition = { name: "lookup", strict: true, parameters: { type: "object", properties: { q: { type: "string", pattern: "^a" } }, required: ["q"] } };
    await expectAppError(run(model, chat(ASK, { tools: [bad] })), { code: "invalid_tool_schema", param: "tools", message: /"pattern".*|lookup/ });
    await expectAppError(run(model, chat(ASK, { tools: [bad] })), { code: "invalid_tool_schema", message: /lookup/ });
  });

  it("refuses response_format together with tools, unless tool_choice is none", async () => {
    await expectAppError(run(model, chat(ASK, { grammar: { type: "json_object" } })), { code: "unsupported_parameter", param: "response_format" });
    const r = await run(model, chat(ASK, { grammar: { type: "json_object" }, toolChoice: "none", maxTokens: 60 }));
    expect(() => JSON.parse(r.text) as unknown).not.toThrow();
  });

  it("refuses image input, logprobs and n > 1", async () => {
    const image: ChatMessage = { role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image", url: "data:image/png;base64,AAAA" }] };
    await expectAppError(run(model, chat([image])), { code: "model_not_supported", param: "messages", message: new RegExp(`The model '${model}' does not accept image input`) });
    await expectAppError(run(model, chat(ASK, { logprobs: true })), { code: "unsupported_parameter", param: "logprobs" });
    await expectAppError(run(model, chat(ASK, { n: 2 })), { code: "unsupported_parameter", param: "n" });
  });

  it("an abort in the middle of a call frees the sequence", async () => {
    const ac = new AbortController();
    const seen: GenerateEvent[] = [];
    for await (const ev of pool.generate(model, chat(ASK, { toolChoice: { name: "get_time" } }), ac.signal)) {
      seen.push(ev);
      if (ev.type === "tool_call" && ev.arguments) ac.abort();
    }
    expect(seen.some((e) => e.type === "tool_call")).toBe(true);
    expect(seen.some((e) => e.type === "done")).toBe(false);
    await expect.poll(() => pool.status().find((s) => s.name === model)?.active).toBe(0);
    const next = await run(model, chat(ASK, { toolChoice: "required" }));
    expect(next.calls).toHaveLength(1);
  });
});

describe("parallel tool calls (Qwen wrapper)", () => {
  // Sampled at temperature 1, the scripted model sometimes follows `</tool_call>` with a
  // newline, i.e. another call; a seeded sampler then repeats that choice after every call
  // (node-llama-cpp re-seeds each evaluation), so such a seed calls until max_tokens.
  const PARALLEL_SEED = 6;
  const sampled = (extra: Partial<GenerateRequest>) =>
    chat(ASK, { tools: [TIME], toolChoice: "required", temperature: 1, seed: PARALLEL_SEED, maxTokens: 80, ...extra });

  it("streams several calls, each with its own index and id", async () => {
    const r = await run("qwen", sampled({}));
    expect(r.calls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(r.calls.map((c) => c.id)).size).toBe(r.calls.length);
    for (const c of r.calls.slice(0, 2)) expectValidCall(c);
    expect(r.tokens).toBe(r.done?.usage.completionTokens);
  });

  it("parallel_tool_calls false: exactly one call", async () => {
    const r = await run("qwen", sampled({ parallelToolCalls: false }));
    expect(r.calls).toHaveLength(1);
    expectValidCall(r.calls[0]!);
    expect(r.done?.finishReason).toBe("tool_calls");
  });

  it("legacy functions: one call (function_call has room for one)", async () => {
    const r = await run("qwen", sampled({ legacyFunctions: true }));
    expect(r.calls).toHaveLength(1);
    expect(r.done?.finishReason).toBe("tool_calls");
  });

  it("the generic syntax (ChatML) has no parallel calls: one per answer", async () => {
    const r = await run("chatml", sampled({}));
    expect(r.calls).toHaveLength(1);
    expect(r.done?.finishReason).toBe("tool_calls");
  });
});

describe("logit_bias on a local model", () => {
  it("-100 bans a token; other ids are checked", async () => {
    const hello = designTinyModel().vocab.id("Hello");
    const r = await run("chatml", chat(ASK, { tools: undefined, logitBias: { [String(hello)]: -100 }, maxTokens: 8 }));
    expect(r.text.startsWith("Hello")).toBe(false);
    await expectAppError(run("chatml", chat(ASK, { tools: undefined, logitBias: { "99999999": 5 } })), { code: "invalid_request", param: "logit_bias" });
  });
});
