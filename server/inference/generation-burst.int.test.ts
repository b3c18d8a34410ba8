// Generation bursts (issue #8, patches/node-llama-cpp+3.22.1.patch): while one sequence generates
// alone, the addon's compute thread decodes each sampled token at once and samples the next, one
// token ahead of JS. Only a native build (`engine build`) has the addon half; the native-engine
// tier (scripts/test-native-engine.sh) sets SWITCHYARD_EXPECT_NATIVE_ENGINE so these tests cannot
// skip there. They watch what the context does (bursts started, decodes, KV cells), never the clock.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LlamaContext } from "node-llama-cpp";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TINY_MODEL, writeTinyModel } from "../../scripts/tiny-gguf/make-tiny-model";
import { watchNativeContext } from "../test/native-context";
import { LocalPool } from "./local-pool";
import type { GenerateRequest } from "./types";

const PROMPTS = TINY_MODEL.safeCompletionPrompts; // free-run until maxTokens

let dir: string;
let pool: LocalPool;
let supported = false;

interface NativeContext {
  _ctx: Record<string, unknown>;
  _activeGenerationBurst: unknown;
  /** the patch's `generationBurst` context option (the pool passes SWITCHYARD_GENERATION_BURST) */
  _generationBurst: boolean;
}

/** The A/B switch: bursts on or off for the loaded context (what SWITCHYARD_GENERATION_BURST=0 sets at load). */
function setBursts(on: boolean) {
  (pool.contextOf("tiny") as unknown as NativeContext)._generationBurst = on;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-burst-"));
  pool = new LocalPool();
  const file = writeTinyModel(path.join(dir, "tiny.gguf")).path;
  await pool.register({ name: "tiny", path: file, kind: "chat", contextSize: 256, parallel: 2, threads: 1, chatTemplate: "chatml" });
  await pool.load("tiny");
  supported = typeof (pool.contextOf("tiny") as unknown as NativeContext)._ctx.startGenerationBurst === "function";
  if (process.env.SWITCHYARD_EXPECT_NATIVE_ENGINE === "1" && !supported) {
    throw new Error("the native engine tier loaded an addon without generation bursts");
  }
});

// the pool keeps its sequences as prompt-cache slots; tests that take sequences themselves need them back
beforeEach(async () => {
  await pool.releaseIdleSlots("tiny");
});

afterEach(() => {
  setBursts(true);
});

afterAll(async () => {
  await pool?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function request(prompt: string, maxTokens: number, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { mode: "completion", prompt, maxTokens, temperature: 0, tenantId: "tnt_burst", ...extra };
}

async function complete(req: GenerateRequest, signal = new AbortController().signal, onDelta?: (n: number) => void) {
  let text = "";
  let tokens = 0;
  let deltas = 0;
  for await (const ev of pool.generate("tiny", req, signal)) {
    if (ev.type === "delta") {
      text += ev.text;
      onDelta?.((deltas += ev.tokens));
    } else if (ev.type === "done") tokens = ev.usage.completionTokens;
  }
  return { text, tokens };
}

/** Counts bursts started and batch-loop decodes (with the distinct sequence ids in each). */
function watch(context: LlamaContext) {
  const seen = { bursts: 0, batches: [] as number[][] };
  let current = new Set<number>();
  const { restore } = watchNativeContext(context, (method, args) => {
    if (method === "startGenerationBurst") seen.bursts += 1;
    else if (method === "addToBatch") current.add(args[0] as number);
    else if (method === "decodeBatch") {
      seen.batches.push([...current]);
      current = new Set();
    }
  });
  return { seen, restore };
}

describe("the generationBurst option (any engine: the JS half is always there)", () => {
  it("is on by default and off with SWITCHYARD_GENERATION_BURST=0, as the pool loads the model", async () => {
    expect((pool.contextOf("tiny") as unknown as NativeContext)._generationBurst).toBe(true);
    const off = new LocalPool();
    process.env.SWITCHYARD_GENERATION_BURST = "0";
    try {
      await off.register({ name: "tiny-off", path: path.join(dir, "tiny.gguf"), kind: "chat", contextSize: 64, parallel: 1, threads: 1, chatTemplate: "chatml" });
      await off.load("tiny-off");
      expect((off.contextOf("tiny-off") as unknown as NativeContext)._generationBurst).toBe(false);
    } finally {
      delete process.env.SWITCHYARD_GENERATION_BURST;
      await off.close();
    }
  });
});

describe("generation bursts (native build; skipped on a prebuilt binary)", () => {
  it("decode a lone generation in the addon, with the batch loop's exact output", async (ctx) => {
    if (!supported) ctx.skip();
    const context = pool.contextOf("tiny")!;
    setBursts(false);
    const plain = await complete(request(PROMPTS[0]!, 48));
    setBursts(true);

    const { seen, restore } = watch(context);
    try {
      const burst = await complete(request(PROMPTS[0]!, 48));
      expect(burst).toEqual(plain);
      expect(burst.tokens).toBe(48);
      expect(seen.bursts).toBe(1);
      // the prompt goes through the batch loop, every generated token through the burst
      expect(seen.batches.length).toBeLessThanOrEqual(2);
    } finally {
      restore();
    }
  });

  it("end on a stop sequence exactly where the batch loop does", async (ctx) => {
    if (!supported) ctx.skip();
    setBursts(false);
    const full = await complete(request(PROMPTS[0]!, 48));
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 3);
    const plain = await complete(request(PROMPTS[0]!, 48, { stop: [stop] }));
    setBursts(true);
    expect(plain.tokens).toBeLessThan(48);
    expect(await complete(request(PROMPTS[0]!, 48, { stop: [stop] }))).toEqual(plain);
  });

  it("serve chat requests the same way (LlamaChat over the chat wrapper)", async (ctx) => {
    if (!supported) ctx.skip();
    const context = pool.contextOf("tiny")!;
    const chat: GenerateRequest = {
      mode: "chat",
      messages: [{ role: "user", content: PROMPTS[3]! }],
      maxTokens: 24,
      temperature: 0,
      tenantId: "tnt_burst",
    };
    setBursts(false);
    const plain = await complete(chat);
    setBursts(true);
    const { seen, restore } = watch(context);
    try {
      expect(await complete(chat)).toEqual(plain);
      expect(seen.bursts).toBe(1);
    } finally {
      restore();
    }
  });

  it("remove what was decoded past the consumer's stop, so the sequence matches its KV cells", async (ctx) => {
    if (!supported) ctx.skip();
    const context = pool.contextOf("tiny")!;
    const { LlamaCompletion } = await import("node-llama-cpp");
    const sequence = context.getSequence();
    try {
      const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
      await completion.generateCompletion(PROMPTS[1]!, { maxTokens: 20, temperature: 0, repeatPenalty: false });
      const seq = sequence as unknown as { _sequenceId: number; _nextTokenIndex: number };
      const maxPosition = (context as unknown as NativeContext)._ctx.getSequenceKvCacheMaxPosition as (id: number) => number;
      expect(seq._nextTokenIndex).toBe(sequence.contextTokens.length);
      expect(maxPosition.call((context as unknown as NativeContext)._ctx, seq._sequenceId)).toBe(seq._nextTokenIndex - 1);
      // the sequence carries on from exactly there
      const more = await completion.generateCompletion(PROMPTS[1]!, { maxTokens: 5, temperature: 0, repeatPenalty: false });
      expect(more.length).toBeGreaterThan(0);
      completion.dispose({ disposeSequence: false });
    } finally {
      sequence.dispose();
    }
  });

  it("stop at the end of the context and let the batch loop shift it, then burst on", async (ctx) => {
    if (!supported) ctx.skip();
    const context = pool.contextOf("tiny")!;
    const { LlamaCompletion } = await import("node-llama-cpp");
    const generate = async () => {
      const sequence = context.getSequence();
      try {
        const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
        let tokens = 0;
        const text = await completion.generateCompletion(PROMPTS[2]!, {
          maxTokens: context.contextSize + 64, // past the end: node-llama-cpp shifts the context
          temperature: 0,
          repeatPenalty: false,
          onToken: (t) => void (tokens += t.length),
        });
        completion.dispose({ disposeSequence: false });
        return { text, tokens };
      } finally {
        sequence.dispose();
        await new Promise((r) => setImmediate(r));
      }
    };
    setBursts(false);
    const plain = await generate();
    setBursts(true);
    const { seen, restore } = watch(context);
    try {
      const burst = await generate();
      expect(burst.tokens).toBe(context.contextSize + 64);
      expect(burst).toEqual(plain);
      expect(seen.bursts).toBeGreaterThanOrEqual(2); // one before the shift, one after
    } finally {
      restore();
    }
  });

  it("step aside for a second request: both batch together and match their sequential outputs", async (ctx) => {
    if (!supported) ctx.skip();
    const context = pool.contextOf("tiny")!;
    const sequential = [await complete(request(PROMPTS[0]!, 96)), await complete(request(PROMPTS[1]!, 32))];

    const { seen, restore } = watch(context);
    try {
      let started!: () => void;
      const firstIsGenerating = new Promise<void>((r) => (started = r));
      const first = complete(request(PROMPTS[0]!, 96), undefined, (n) => n >= 16 && started());
      await firstIsGenerating;
      expect((context as unknown as NativeContext)._activeGenerationBurst).not.toBeNull();
      const second = complete(request(PROMPTS[1]!, 32));
      expect(await Promise.all([first, second])).toEqual(sequential);
      expect(seen.bursts).toBeGreaterThanOrEqual(1);
      // after the burst stepped aside, the two sequences shared decode batches
      expect(seen.batches.filter((ids) => ids.length === 2).length).toBeGreaterThanOrEqual(16);
    } finally {
      restore();
    }
  });

  it("end at once when the caller aborts, and leave the context usable", async (ctx) => {
    if (!supported) ctx.skip();
    const context = pool.contextOf("tiny")!;
    const abort = new AbortController();
    const out = await complete(request(PROMPTS[2]!, 200), abort.signal, (n) => n >= 8 && abort.abort());
    expect(out.tokens).toBe(0); // no usage event: the caller counts what it saw
    await expect.poll(() => pool.status()[0]!.active).toBe(0);
    expect((context as unknown as NativeContext)._activeGenerationBurst).toBeNull();
    const next = await complete(request(PROMPTS[2]!, 12));
    expect(next.tokens).toBe(12);
  });
});
