// Parallel sequences must share decode batches (issue #8): node-llama-cpp 3.22.1 left one
// sequence out of most batches and handed llama.cpp unsorted sequence ids, which its
// sequential split decodes in several passes. patches/node-llama-cpp+3.22.1.patch fixes them;
// these tests watch what the context hands to llama.cpp and the order things happen in (never the
// clock). Each of the four changes in the patch (batch order, waiting for stragglers, smallest free
// id, letting a freed id back in between batches) fails one test when reverted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_MODEL, writeTinyModel } from "../../scripts/tiny-gguf/make-tiny-model";
import { recordBatches } from "../test/native-context";
import { LocalPool } from "./local-pool";
import type { GenerateRequest } from "./types";

const MODEL = "batching-tiny";
const MAX_TOKENS = 24;
const PROMPTS = TINY_MODEL.safeCompletionPrompts; // four prompts that free-run until maxTokens

let dir: string;
let pool: LocalPool;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-batching-"));
  pool = new LocalPool();
});

afterAll(async () => {
  await pool?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function register(name: string, contextSize = 256) {
  const file = writeTinyModel(path.join(dir, `${name}.gguf`)).path;
  await pool.register({ name, path: file, kind: "chat", contextSize, parallel: PROMPTS.length, threads: 1, chatTemplate: "chatml" });
  await pool.load(name);
}

async function complete(name: string, prompt: string, maxTokens = MAX_TOKENS): Promise<{ text: string; tokens: number }> {
  const req: GenerateRequest = { mode: "completion", prompt, maxTokens, temperature: 0, tenantId: "tnt_batching" };
  let text = "";
  let tokens = 0;
  for await (const ev of pool.generate(name, req, new AbortController().signal)) {
    if (ev.type === "delta") text += ev.text;
    else if (ev.type === "done") tokens = ev.usage.completionTokens;
  }
  return { text, tokens };
}

describe("parallel sequences through LocalPool", () => {
  it("decode all four sequences in every batch, in increasing id order, with sequential outputs", async () => {
    await register(MODEL);

    const sequential: { text: string; tokens: number }[] = [];
    for (const prompt of PROMPTS) sequential.push(await complete(MODEL, prompt));
    for (const r of sequential) expect(r.tokens).toBe(MAX_TOKENS);
    expect(new Set(sequential.map((r) => r.text)).size).toBe(PROMPTS.length); // distinct streams, not one echoed

    const batches = recordBatches(pool.contextOf(MODEL)!);
    const parallel = await Promise.all(PROMPTS.map((p) => complete(MODEL, p)));
    expect(parallel).toEqual(sequential);

    const seen = `sequence ids per decode: ${batches.map((ids) => ids.join(",")).join(" | ")}`;
    // what llama.cpp's sequential split needs: ids increasing by one within a batch
    for (const ids of batches) {
      const distinct = [...new Set(ids)];
      expect(distinct, seen).toEqual([...distinct].sort((a, b) => a - b));
      expect(distinct.at(-1)! - distinct[0]!, seen).toBe(distinct.length - 1);
    }
    // Each request starts and ends at its own moment, so only the middle is strict: from the
    // first batch with all four sequences to the last, no batch may leave one out.
    const full = batches.map((ids) => new Set(ids).size === PROMPTS.length);
    const first = full.indexOf(true);
    const last = full.lastIndexOf(true);
    expect(first, seen).toBeGreaterThanOrEqual(0);
    expect(full.slice(first, last + 1).every(Boolean), seen).toBe(true);
    expect(full.filter(Boolean).length, seen).toBeGreaterThanOrEqual(MAX_TOKENS - 4);
  });

  it("hands llama.cpp the sequences of a batch in id order, whatever order they queued in", async () => {
    const name = `${MODEL}-order`;
    await register(name);
    const context = pool.contextOf(name)!;
    const batches = recordBatches(context);
    const sequences = PROMPTS.map(() => context.getSequence());
    const tokens = sequences[0]!.model.tokenize(PROMPTS[0]!);
    try {
      // queued highest id first, all in one tick, so they share the next batch
      await Promise.all([...sequences].reverse().map((seq) => seq.evaluateWithoutGeneratingNewTokens(tokens)));
    } finally {
      for (const seq of sequences) seq.dispose();
    }
    expect(batches).toEqual([PROMPTS.map((_, id) => id)]);
  });

  it("gives a new sequence the smallest free id, so active ids stay contiguous", async () => {
    const name = `${MODEL}-ids`;
    await register(name);
    const context = pool.contextOf(name)!;
    // the id is internal to node-llama-cpp; it is what llama.cpp sees
    const idOf = (s: object) => (s as { _sequenceId: number })._sequenceId;
    const sequences = PROMPTS.map(() => context.getSequence());
    expect(sequences.map(idOf)).toEqual([0, 1, 2, 3]);
    sequences[2]!.dispose();
    sequences[1]!.dispose();
    await expect.poll(() => context.sequencesLeft).toBe(2); // ids come back asynchronously, 2 before 1
    const next = context.getSequence();
    expect(idOf(next)).toBe(1);
    for (const s of [sequences[0]!, sequences[3]!, next]) s.dispose();
  });

  it("gives a freed slot to the next request while the other sequences keep generating", async () => {
    const name = `${MODEL}-reuse`;
    await register(name, 1024);
    // Three long generations keep the batch loop busy; a short one ends and leaves its slot,
    // whose tokens the next request erases (to its common prefix) under the context lock the
    // loop holds. The next request must get it between batches, not after the long ones are done.
    let longDone = 0;
    const long = PROMPTS.slice(1).map((p) => complete(name, p, 40 * MAX_TOKENS).then((r) => ((longDone += 1), r)));
    await complete(name, PROMPTS[0]!, 4);
    const next = await complete(name, PROMPTS[0]!, 4);
    expect(next.tokens).toBe(4);
    expect(longDone).toBe(0);
    for (const r of await Promise.all(long)) expect(r.tokens).toBe(40 * MAX_TOKENS);
  });
});
