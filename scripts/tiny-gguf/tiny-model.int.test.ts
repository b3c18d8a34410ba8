// The generated tiny model through real llama.cpp (node-llama-cpp, CPU, offline):
// the scripted chat reply, free-running generation, seeds, JSON grammars,
// embeddings and parallel sequences.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ChatMLChatWrapper,
  getLlama,
  JinjaTemplateChatWrapper,
  type Llama,
  LlamaChatSession,
  LlamaCompletion,
  type LlamaContext,
  LlamaLogLevel,
  type LlamaModel,
  readGgufFileInfo,
} from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHATML_TEMPLATE, TINY_MODEL, writeTinyModel } from "./make-tiny-model";

const REPLY = TINY_MODEL.chatReply;
const startedAt = Date.now();
let dir: string;
let file: string;
let llama: Llama;
let model: LlamaModel;
let ctx: LlamaContext;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-tiny-"));
  file = path.join(dir, "nested", "tiny.gguf");
  expect(writeTinyModel(file).written).toBe(true);
  expect(writeTinyModel(file).written).toBe(false); // idempotent
  // NOTES §11: prebuilt CPU binary, no source build, explicit threads (the default 4 collapses on 2 cores)
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 2 });
  model = await llama.loadModel({ modelPath: file });
  ctx = await model.createContext({ contextSize: 1024, sequences: 4, threads: 1 });
});

afterAll(async () => {
  await ctx?.dispose();
  await model?.dispose();
  await llama?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
  console.log(`tiny-model.int.test.ts: ${Date.now() - startedAt} ms`);
});

/** Runs `fn` on a fresh sequence of the shared context and frees it afterwards. */
async function withSequence<T>(fn: (seq: ReturnType<LlamaContext["getSequence"]>) => Promise<T>): Promise<T> {
  const seq = ctx.getSequence();
  try {
    return await fn(seq);
  } finally {
    seq.dispose();
  }
}

describe("file", () => {
  it("carries the metadata node-llama-cpp reads", async () => {
    const info = await readGgufFileInfo(file);
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe("llama");
    expect(info.metadata.general.name).toBe("switchyard-tiny");
    expect(info.metadata.tokenizer?.chat_template).toBe(CHATML_TEMPLATE);
    expect(model.embeddingVectorSize).toBe(TINY_MODEL.nEmbd);
    expect(model.trainContextSize).toBe(TINY_MODEL.contextLength);
  });

  it("ends the ChatML assistant header on the trigger token; the reply text has no reply tokens", () => {
    const header = model.tokenize("<|im_start|>assistant\n", true);
    expect(header[0]).toBe(model.tokenize("<|im_start|>", true)[0]);
    expect(model.detokenize([header.at(-1)!], true)).toBe("\n");
    expect(model.tokens.eos).toBe(model.tokenize("<|im_end|>", true)[0]);
    const replyTokens = model.tokenize(REPLY);
    expect(replyTokens.length).toBeGreaterThan(TINY_MODEL.chatReplyTokenCount); // spelled in pieces
  });
});

describe("chat", () => {
  it("replies with the fixed sentence and stops by itself (explicit ChatML wrapper)", async () => {
    await withSequence(async (seq) => {
      const session = new LlamaChatSession({ contextSequence: seq, chatWrapper: new ChatMLChatWrapper(), systemPrompt: "" });
      const chunks: string[] = [];
      let tokens = 0;
      const r = await session.promptWithMeta("Hi", {
        maxTokens: 50,
        onTextChunk: (c) => chunks.push(c),
        onToken: (t) => (tokens += t.length),
      });
      expect(r.responseText).toBe(REPLY);
      expect(r.stopReason).toBe("eogToken");
      expect(tokens).toBe(TINY_MODEL.chatReplyTokenCount);
      expect(chunks.join("")).toBe(REPLY);
      expect(chunks.length).toBeGreaterThan(1); // streamed, not one lump

      // a second turn, other words, sampling at temperature 1: still the same reply
      for (const seed of [1, 2]) {
        const again = await session.promptWithMeta(`Tell me something else, seed ${seed}`, { temperature: 1, seed, maxTokens: 50 });
        expect(again.responseText).toBe(REPLY);
        expect(again.stopReason).toBe("eogToken");
      }
      session.dispose();
    });
  });

  it("replies the same with the wrapper resolved from the GGUF template, and with the Jinja template itself", async () => {
    await withSequence(async (seq) => {
      const session = new LlamaChatSession({ contextSequence: seq });
      expect(session.chatWrapper).toBeInstanceOf(ChatMLChatWrapper);
      const r = await session.promptWithMeta("What is 2+2?", { maxTokens: 50 });
      expect([r.responseText, r.stopReason]).toEqual([REPLY, "eogToken"]);
      session.dispose();
    });
    await withSequence(async (seq) => {
      const template = model.fileInfo.metadata.tokenizer?.chat_template;
      expect(typeof template).toBe("string");
      const session = new LlamaChatSession({
        contextSequence: seq,
        chatWrapper: new JinjaTemplateChatWrapper({ template: template as string }),
      });
      const r = await session.promptWithMeta("Hello there", { maxTokens: 50, temperature: 0.8, seed: 42 });
      expect([r.responseText, r.stopReason]).toEqual([REPLY, "eogToken"]);
      session.dispose();
    });
  });

  it("returns the partial reply on abort", async () => {
    await withSequence(async (seq) => {
      const session = new LlamaChatSession({ contextSequence: seq, chatWrapper: new ChatMLChatWrapper() });
      const ac = new AbortController();
      const r = await session.promptWithMeta("Hi", {
        signal: ac.signal,
        stopOnAbortSignal: true,
        onTextChunk: () => ac.abort(),
      });
      expect(r.stopReason).toBe("abort");
      expect(REPLY.startsWith(r.responseText)).toBe(true);
      expect(r.responseText.length).toBeLessThan(REPLY.length);
      session.dispose();
    });
  });
});

describe("free-running completion", () => {
  const complete = (prompt: string, opts: { maxTokens: number; temperature?: number; seed?: number }) =>
    withSequence(async (seq) => {
      const r = await new LlamaCompletion({ contextSequence: seq }).generateCompletionWithMeta(prompt, opts);
      return { text: r.response, stopReason: r.metadata.stopReason };
    });

  it("runs until maxTokens, never into the chat reply or a control token", async () => {
    for (const prompt of TINY_MODEL.safeCompletionPrompts) {
      const t0 = performance.now();
      const r = await complete(prompt, { maxTokens: 64 });
      const ms = performance.now() - t0;
      expect(r.stopReason).toBe("maxTokens");
      expect(r.text.length).toBeGreaterThan(64);
      expect(r.text).not.toMatch(/<\||<\/?s>|\n|Switchyard/);
      if (prompt === "Once upon a time") console.log(`64 tokens greedy in ${ms.toFixed(0)} ms: ${JSON.stringify(r.text)}`);
    }
  });

  it("is deterministic when greedy and per seed, and varies by seed", async () => {
    const g1 = await complete("Once upon a time", { maxTokens: 32 });
    const g2 = await complete("Once upon a time", { maxTokens: 32 });
    expect(g2.text).toBe(g1.text);
    const s1 = await complete("Once upon a time", { maxTokens: 32, temperature: 1, seed: 1 });
    const s1b = await complete("Once upon a time", { maxTokens: 32, temperature: 1, seed: 1 });
    const s2 = await complete("Once upon a time", { maxTokens: 32, temperature: 1, seed: 2 });
    expect(s1b.text).toBe(s1.text);
    expect(s2.text).not.toBe(s1.text);
    expect(s1.text).not.toBe(g1.text);
  });

  it("stops on abort mid-stream", async () => {
    await withSequence(async (seq) => {
      const ac = new AbortController();
      let chunks = 0;
      const r = await new LlamaCompletion({ contextSequence: seq }).generateCompletionWithMeta("Once upon a time", {
        maxTokens: 100_000,
        signal: ac.signal,
        stopOnAbortSignal: true,
        onTextChunk: () => {
          if (++chunks === 10) ac.abort();
        },
      });
      expect(r.metadata.stopReason).toBe("abort");
      expect(chunks).toBeGreaterThanOrEqual(10);
      expect(chunks).toBeLessThan(20);
    });
  });
});

describe("JSON grammars", () => {
  const schema = {
    type: "object",
    properties: { ok: { type: "boolean" }, name: { type: "string", enum: ["a", "b"] } },
    required: ["ok", "name"],
  } as const;

  it("satisfies a JSON schema grammar, greedy and sampled", async () => {
    const grammar = await llama.createGrammarForJsonSchema(schema);
    await withSequence(async (seq) => {
      const session = new LlamaChatSession({ contextSequence: seq, chatWrapper: new ChatMLChatWrapper() });
      for (const opts of [{}, { temperature: 1, seed: 1 }, { temperature: 1, seed: 2 }]) {
        const r = await session.promptWithMeta("Answer in JSON", { grammar, maxTokens: 64, ...opts });
        expect(r.stopReason).not.toBe("maxTokens");
        const parsed = JSON.parse(r.responseText) as { ok: unknown; name: unknown };
        expect(typeof parsed.ok).toBe("boolean");
        expect(["a", "b"]).toContain(parsed.name);
        expect(grammar.parse(r.responseText)).toEqual(parsed);
      }
      session.dispose();
    });
  });

  it("closes free strings, numbers and arrays; any-JSON grammar too", async () => {
    const open = await llama.createGrammarForJsonSchema({
      type: "object",
      properties: { title: { type: "string" }, n: { type: "integer" }, tags: { type: "array", items: { type: "string" } } },
      required: ["title", "n", "tags"],
    } as const);
    const any = await llama.getGrammarFor("json");
    await withSequence(async (seq) => {
      const session = new LlamaChatSession({ contextSequence: seq, chatWrapper: new ChatMLChatWrapper() });
      for (const grammar of [open, any]) {
        for (const opts of [{}, { temperature: 1, seed: 7 }]) {
          const r = await session.promptWithMeta("JSON please", { grammar, maxTokens: 96, ...opts });
          expect(r.stopReason).not.toBe("maxTokens");
          expect(() => JSON.parse(r.responseText)).not.toThrow();
        }
      }
      session.dispose();
    });
  });
});

describe("embeddings", () => {
  it("gives n_embd-long deterministic vectors", async () => {
    const emb = await model.createEmbeddingContext({ contextSize: 512, threads: 1 });
    try {
      const a = await emb.getEmbeddingFor("Hello world");
      const b = await emb.getEmbeddingFor("Hello world");
      const c = await emb.getEmbeddingFor("Once upon a time");
      expect(a.vector).toHaveLength(TINY_MODEL.nEmbd);
      expect(a.vector.every(Number.isFinite)).toBe(true);
      expect(b.vector).toEqual(a.vector);
      expect(c.vector).not.toEqual(a.vector);
      expect(a.calculateCosineSimilarity(b)).toBeCloseTo(1, 6);
      expect(a.calculateCosineSimilarity(c)).toBeLessThan(0.99);
    } finally {
      await emb.dispose();
    }
  });
});

describe("parallel sequences", () => {
  it("completes 4 concurrent generations in one context", async () => {
    const seqs = [0, 1, 2, 3].map(() => ctx.getSequence());
    try {
      const t0 = performance.now();
      const results = await Promise.all(
        seqs.map(async (seq, i) => {
          if (i % 2 === 0) {
            const session = new LlamaChatSession({ contextSequence: seq, chatWrapper: new ChatMLChatWrapper() });
            const r = await session.promptWithMeta(`question ${i}`, { maxTokens: 50, temperature: 1, seed: i });
            return [r.responseText, r.stopReason] as const;
          }
          const r = await new LlamaCompletion({ contextSequence: seq }).generateCompletionWithMeta("Once upon a time", {
            maxTokens: 48,
            temperature: 0.8,
            seed: i,
          });
          return [r.response, r.metadata.stopReason] as const;
        }),
      );
      console.log(`4 parallel sequences: ${(performance.now() - t0).toFixed(0)} ms`);
      expect(results[0]).toEqual([REPLY, "eogToken"]);
      expect(results[2]).toEqual([REPLY, "eogToken"]);
      for (const i of [1, 3]) {
        expect(results[i]![1]).toBe("maxTokens");
        expect(results[i]![0].length).toBeGreaterThan(48);
      }
      expect(results[1]![0]).not.toBe(results[3]![0]);
    } finally {
      for (const s of seqs) s.dispose();
    }
  });

  it("gives the same greedy text alone and batched with other sequences", async () => {
    const prompts = ["Once upon a time", "Write a story about a dog", "Once upon a time", "The gateway"];
    const run = (prompt: string) =>
      withSequence((seq) => new LlamaCompletion({ contextSequence: seq }).generateCompletion(prompt, { maxTokens: 40 }));
    const batched = await Promise.all(prompts.map(run));
    const alone: string[] = [];
    for (const p of prompts) alone.push(await run(p));
    expect(batched).toEqual(alone);
    expect(batched[0]).toBe(batched[2]);
  });
});
