/**
 * Runs a tenant's own redaction patterns with a time limit. JavaScript regular
 * expressions backtrack, and a pattern like `(a+)+$` takes exponential time on the
 * wrong input: schemas.ts refuses the constructs behind that when a pattern is saved,
 * and this runner is the backstop — patterns run in a worker thread that is terminated
 * after CUSTOM_PATTERN_TIMEOUT_MS, so even a pattern that slipped through (polynomial
 * blow-up of adjacent quantifiers) costs at most that long and never blocks the event
 * loop. A timed-out capture is not stored (fail closed: the text could hold what the
 * pattern was meant to remove).
 */
import { Worker } from "node:worker_threads";
import type { Span } from "./redact";
import type { CustomPattern } from "./schemas";
import { processSlot } from "../../runtime/registry";

export const CUSTOM_PATTERN_TIMEOUT_MS = 250;

// ---- the runner ---------------------------------------------------------------------------

/** The worker's code, inline: no file to locate in a bundled server. */
const WORKER_CODE = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", ({ id, patterns, texts }) => {
  const out = texts.map(() => []);
  for (const p of patterns) {
    const re = new RegExp(p.pattern, "gu" + (p.flags || ""));
    texts.forEach((t, i) => {
      for (const m of t.matchAll(re)) if (m[0].length > 0) out[i].push({ start: m.index, end: m.index + m[0].length, kind: p.name });
    });
  }
  parentPort.postMessage({ id, out });
});
`;

export class PatternTimeout extends Error {
  constructor() {
    super(`a custom redaction pattern took longer than ${CUSTOM_PATTERN_TIMEOUT_MS} ms`);
    this.name = "PatternTimeout";
  }
}

interface Runner {
  worker: { w: Worker; online: Promise<void> } | null;
  seq: number;
  /** one job at a time: a timeout terminates the worker, which must not take other jobs with it */
  chain: Promise<unknown>;
}
// one worker thread per process, not one per bundle that redacts
const runner = processSlot<Runner>("requestBodies.patternWorker", () => ({ worker: null, seq: 0, chain: Promise.resolve() }));

function spawn() {
  const w = new Worker(WORKER_CODE, { eval: true });
  w.unref();
  return { w, online: new Promise<void>((resolve, reject) => (w.once("online", () => resolve()), w.once("error", reject))) };
}

async function runOnce(patterns: CustomPattern[], texts: string[], timeoutMs: number): Promise<Span[][]> {
  const r = runner.get();
  r.worker ??= spawn();
  const { w, online } = r.worker;
  // the time limit is for the patterns, not for starting a thread on a busy machine
  await online;
  const id = ++r.seq;
  return new Promise<Span[][]>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      r.worker = null;
      void w.terminate();
      reject(new PatternTimeout());
    }, timeoutMs);
    const onMessage = (msg: { id: number; out: Span[][] }) => {
      if (msg.id !== id) return;
      cleanup();
      resolve(msg.out);
    };
    const onError = (e: Error) => {
      cleanup();
      r.worker = null;
      reject(e);
    };
    const cleanup = () => {
      clearTimeout(timer);
      w.off("message", onMessage);
      w.off("error", onError);
    };
    w.on("message", onMessage);
    w.on("error", onError);
    w.postMessage({ id, patterns, texts });
  });
}

/** Hits of `patterns` in each of `texts` (one array per text); rejects with PatternTimeout. */
export function customSpans(patterns: CustomPattern[], texts: string[], timeoutMs = CUSTOM_PATTERN_TIMEOUT_MS): Promise<Span[][]> {
  if (patterns.length === 0 || texts.length === 0) return Promise.resolve(texts.map(() => []));
  const r = runner.get();
  const job = r.chain.then(() => runOnce(patterns, texts, timeoutMs));
  r.chain = job.catch(() => {});
  return job;
}

/** Stops the worker (tests, shutdown). */
export async function stopPatternWorker(): Promise<void> {
  const r = runner.peek();
  const w = r?.worker;
  if (r) r.worker = null;
  if (w) await w.w.terminate();
}
