// Prompt-cache slots of the local pool (issue 16), on real llama.cpp with the generated tiny
// GGUF. What a request evaluates is counted where it reaches llama.cpp (the native context's
// addToBatch: sequence id, first position, tokens), never by the clock.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LlamaContext } from "node-llama-cpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TINY_MODEL, writeTinyModel, writeTinyToolModel } from "../../scripts/tiny-gguf/make-tiny-model";
import { watchNativeContext } from "../test/native-context";
import { LocalPool } from "./local-pool";
import type { ChatMessage, GenerateRequest, Usage } from "./types";

let dir: string;
let pool: LocalPool;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-prompt-cache-"));
  pool = new LocalPool();
  file = writeTinyModel(path.join(dir, "tiny.gguf")).path;
  await pool.register({ name: "two", path: file, kind: "chat", contextSize: 512, parallel: 2, threads: 1, chatTemplate: "chatml" });
  await pool.register({ name: "one", path: file, kind: "chat", contextSize: 512, parallel: 1, threads: 1, chatTemplate: "chatml" });
  await pool.register({ name: "small", path: file, kind: "chat", contextSize: 128, parallel: 1, threads: 1, chatTemplate: "chatml" });
  const tools = writeTinyToolModel(path.join(dir, "tools.gguf")).path;
  await pool.register({ name: "tools", path: tools, kind: "chat", contextSize: 2048, parallel: 1, threads: 1, chatTemplate: "auto" });
});

afterEach(() => {
  delete process.env.LOCAL_PROMPT_CACHE;
});

afterAll(async () => {
  await pool?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  text: string;
  usage?: Usage;
  finish?: string;
  calls: { id?: string; name?: string; arguments: string }[];
  /** prompt positions llama.cpp evaluated for this request */
  evaluatedPrompt: number;
  firstPosition: number | null;
}

async function run(model: string, req: GenerateRequest, signal = new AbortController().signal, onDelta?: (tokens: number) => void): Promise<Run> {
  await pool.load(model);
  const positions: number[] = [];
  let firstPosition: number | null = null;
  const { restore } = watchNativeContext(pool.contextOf(model) as LlamaContext, (method, args) => {
    if (method !== "addToBatch") return;
    const first = args[1] as number;
    firstPosition ??= first;
    const n = (args[2] as Uint32Array).length;
    for (let i = 0; i < n; i++) positions.push(first + i);
  });
  const out: Run = { text: "", calls: [], evaluatedPrompt: 0, firstPosition: null };
  let seen = 0;
  try {
    for await (const ev of pool.generate(model, req, signal)) {
      if (ev.type === "delta") {
        out.text += ev.text;
        onDelta?.((seen += ev.tokens));
      } else if (ev.type === "tool_call") {
        if (ev.id) out.calls.push({ id: ev.id, name: ev.name, arguments: "" });
        if (ev.arguments) out.calls.at(-1)!.arguments += ev.arguments;
      } else if (ev.type === "done") {
        out.usage = ev.usage;
        out.finish = ev.finishReason;
      }
    }
  } finally {
    restore();
  }
  const promptLength = out.usage?.promptTokens ?? Infinity;
  out.evaluatedPrompt = positions.filter((p) => p < promptLength).length;
  out.firstPosition = firstPosition;
  return out;
}

const SYSTEM = "You are the Switchyard test assistant. Answer briefly and politely, in plain words. ".repeat(4);
const chatReq = (messages: ChatMessage[], tenantId = "tnt_a", extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  mode: "chat",
  messages,
  maxTokens: 32,
  temperature: 0,
  tenantId,
  ...extra,
});
const turn1: ChatMessage[] = [
  { role: "system", content: SYSTEM },
  { role: "user", content: "Hello, who are you?" },
];
const turn2: ChatMessage[] = [...turn1, { role: "assistant", content: TINY_MODEL.chatReply }, { role: "user", content: "And what do you do?" }];
const completionReq = (prompt: string, tenantId = "tnt_a", maxTokens = 24): GenerateRequest => ({ mode: "completion", prompt, maxTokens, temperature: 0, tenantId });

describe("prompt-cache slots", () => {
  it("the second turn of a chat evaluates only the tokens after the cached prefix", async () => {
    await pool.releaseIdleSlots("two");
    const first = await run("two", chatReq(turn1));
    expect(first.text).toBe(TINY_MODEL.chatReply);
    expect(first.usage!.cachedPromptTokens).toBe(0);
    expect(first.evaluatedPrompt).toBe(first.usage!.promptTokens);

    const second = await run("two", chatReq(turn2));
    const u = second.usage!;
    // everything up to the first reply is reused (the reply's generated tokens need not
    // re-tokenize the same way, so the prefix may end at its start)
    expect(u.cachedPromptTokens).toBeGreaterThanOrEqual(first.usage!.promptTokens - 1);
    expect(u.cachedPromptTokens).toBeLessThan(u.promptTokens);
    expect(second.firstPosition).toBe(u.cachedPromptTokens);
    expect(second.evaluatedPrompt).toBe(u.promptTokens - u.cachedPromptTokens!);
    expect(second.text).toBe(TINY_MODEL.chatReply);
  });

  it("gives the same greedy output with and without reuse (completions that free-run)", async () => {
    const base = TINY_MODEL.safeCompletionPrompts[0]!;
    const reuse: string[] = [];
    let prompt = base;
    await pool.releaseIdleSlots("one");
    for (let turn = 0; turn < 3; turn++) {
      const r = await run("one", completionReq(prompt));
      if (turn > 0) expect(r.usage!.cachedPromptTokens).toBeGreaterThan(0);
      reuse.push(r.text);
      prompt += r.text + " and then";
    }
    process.env.LOCAL_PROMPT_CACHE = "off";
    prompt = base;
    for (let turn = 0; turn < 3; turn++) {
      const r = await run("one", completionReq(prompt));
      expect(r.usage!.cachedPromptTokens).toBe(0);
      expect(r.evaluatedPrompt).toBe(r.usage!.promptTokens);
      expect(r.text).toBe(reuse[turn]);
      prompt += r.text + " and then";
    }
  });

  it("never reuses another tenant's prefix, even for an identical prompt", async () => {
    await pool.releaseIdleSlots("one");
    const a = await run("one", chatReq(turn1, "tnt_a"));
    const a2 = await run("one", chatReq(turn1, "tnt_a"));
    expect(a2.usage!.cachedPromptTokens).toBe(a.usage!.promptTokens - 1); // same tenant: all but the last token
    // one slot only: tenant B must take A's slot, and gets it erased
    const b = await run("one", chatReq(turn1, "tnt_b"));
    expect(b.usage!.cachedPromptTokens).toBe(0);
    expect(b.firstPosition).toBe(0);
    expect(b.evaluatedPrompt).toBe(b.usage!.promptTokens);
    expect(b.text).toBe(a.text);
    // and A finds nothing of its own left in it
    const a3 = await run("one", chatReq(turn1, "tnt_a"));
    expect(a3.usage!.cachedPromptTokens).toBe(0);
  });

  it("with LOCAL_PROMPT_CACHE=key, two keys of one tenant do not share a prefix", async () => {
    process.env.LOCAL_PROMPT_CACHE = "key";
    await pool.releaseIdleSlots("one");
    await run("one", chatReq(turn1, "tnt_a", { apiKeyId: "key_1" }));
    const same = await run("one", chatReq(turn1, "tnt_a", { apiKeyId: "key_1" }));
    expect(same.usage!.cachedPromptTokens).toBeGreaterThan(0);
    const other = await run("one", chatReq(turn1, "tnt_a", { apiKeyId: "key_2" }));
    expect(other.usage!.cachedPromptTokens).toBe(0);
  });

  it("a slot left half-done by an aborted request serves the next one correctly", async () => {
    const prompt = TINY_MODEL.safeCompletionPrompts[2]!;
    process.env.LOCAL_PROMPT_CACHE = "off";
    const fresh = await run("one", completionReq(prompt, "tnt_a", 40));
    delete process.env.LOCAL_PROMPT_CACHE;
    await pool.releaseIdleSlots("one");
    const abort = new AbortController();
    const aborted = await run("one", completionReq(prompt, "tnt_a", 200), abort.signal, (n) => n >= 8 && abort.abort());
    expect(aborted.usage).toBeUndefined();
    const after = await run("one", completionReq(prompt, "tnt_a", 40));
    expect(after.usage!.cachedPromptTokens).toBe(after.usage!.promptTokens - 1);
    expect(after.text).toBe(fresh.text);
    // a longer prompt that continues into what the aborted request generated
    const longer = await run("one", completionReq(prompt + after.text.slice(0, 10), "tnt_a", 16));
    process.env.LOCAL_PROMPT_CACHE = "off";
    const longerFresh = await run("one", completionReq(prompt + after.text.slice(0, 10), "tnt_a", 16));
    expect(longer.text).toBe(longerFresh.text);
  });

  it("a generation that reaches the end of the context ends with finish length, and the slot stays correct", async () => {
    await pool.releaseIdleSlots("small");
    const prompt = TINY_MODEL.safeCompletionPrompts[3]!;
    const full = await run("small", { ...completionReq(prompt), maxTokens: undefined });
    expect(full.finish).toBe("length");
    expect(full.usage!.promptTokens + full.usage!.completionTokens).toBe(128);
    const again = await run("small", completionReq(prompt, "tnt_a", 16));
    expect(again.usage!.cachedPromptTokens).toBeGreaterThan(0);
    process.env.LOCAL_PROMPT_CACHE = "off";
    expect((await run("small", completionReq(prompt, "tnt_a", 16))).text).toBe(again.text);
  });

  it("a tool-calling conversation reuses the prefix across its turns", async () => {
    const tools = [{ name: "get_time", parameters: { type: "object", properties: { zone: { type: "string" } }, required: ["zone"] } }];
    const ask: ChatMessage[] = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "What time is it in Paris?" },
    ];
    const first = await run("tools", chatReq(ask, "tnt_a", { tools, toolChoice: "required", maxTokens: 64 }));
    const call = first.calls[0]!;
    expect(call.name).toBe("get_time");
    const history: ChatMessage[] = [
      ...ask,
      { role: "assistant", content: null, toolCalls: [{ id: call.id!, name: call.name!, arguments: call.arguments }] },
      { role: "tool", toolCallId: call.id!, content: '{"time": "12:00"}' },
    ];
    const second = await run("tools", chatReq(history, "tnt_a", { tools, toolChoice: "auto", maxTokens: 64 }));
    expect(second.text).toBe(TINY_MODEL.chatReply);
    expect(second.usage!.cachedPromptTokens).toBeGreaterThan(first.usage!.promptTokens / 2);
    expect(second.evaluatedPrompt).toBe(second.usage!.promptTokens - second.usage!.cachedPromptTokens!);
  });
});

describe("context limits", () => {
  it("refuses a prompt longer than the context, naming both numbers, before generating", async () => {
    const long: GenerateRequest = chatReq([{ role: "user", content: "word ".repeat(400) }], "tnt_a", { maxTokens: undefined });
    await expect(pool.check("small", long)).rejects.toMatchObject({ status: 400, code: "context_length_exceeded" });
    const e = await run("small", long).catch((err: Error) => err);
    expect(e).toMatchObject({ status: 400, code: "context_length_exceeded", param: "messages" });
    expect((e as Error).message).toMatch(/maximum context length is 128 tokens, but the prompt is \d+ tokens/);
  });

  it("refuses prompt + max_tokens over the context", async () => {
    const req = completionReq("Hello", "tnt_a", 200);
    const e = await run("small", req).catch((err: Error) => err);
    expect(e).toMatchObject({ status: 400, code: "context_length_exceeded", param: "max_tokens" });
    expect((e as Error).message).toMatch(/maximum context length is 128 tokens, but 20\d tokens were requested \(\d+ in the prompt, 200 for the completion\)/);
  });
});
