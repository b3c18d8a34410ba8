/**
 * Gateway vs. direct node-llama-cpp, same model, same threads, same process.
 *
 *   npx tsx bench/inference.ts [--model PATH.gguf] [--tokens 256] [--threads 1] [--rounds 3]
 *
 * Default model: ../shared/models/stories260K.gguf when present, else the project's
 * tiny scripted GGUF. Prints, for each side: time to first token, single-stream
 * decode tokens/s and 4-stream aggregate tokens/s; then the gateway's own cost per
 * request (auth + validation + usage log + HTTP) on GET /api/v1/models and on a
 * 1-token completion. Numbers, not assertions: see docs/benchmarks.md.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    tokens: { type: "string", default: "256" },
    threads: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
  },
});
const TOKENS = Number(values.tokens);
const THREADS = Number(values.threads);
const ROUNDS = Number(values.rounds);
const PROMPT = "Once upon a time";

const dir = mkdtempSync(path.join(tmpdir(), "switchyard-bench-"));
process.env.DATABASE_URL = `file:${path.join(dir, "bench.db")}`;
process.env.AUTH_SECRET ??= "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";
process.env.PASSWORD_HASH_COST = "4";

let modelPath = values.model;
if (!modelPath) {
  const stories = path.resolve(import.meta.dirname, "../../shared/models/stories260K.gguf");
  if (existsSync(stories)) modelPath = stories;
  else {
    const { writeTinyModel } = await import("../scripts/tiny-gguf/make-tiny-model");
    modelPath = path.join(dir, "tiny.gguf");
    writeTinyModel(modelPath);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 1) => n.toFixed(d).padStart(8);

interface Run {
  ttftMs: number;
  decodeTps: number;
  tokens: number;
}

// ---- direct: node-llama-cpp in this process ---------------------------------------
async function direct() {
  const { getLlama, LlamaCompletion, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: THREADS });
  const model = await llama.loadModel({ modelPath: modelPath! });
  const context = await model.createContext({ contextSize: 4 * (TOKENS + 64), sequences: 4, threads: THREADS });
  const one = async (): Promise<Run> => {
    const seq = context.getSequence();
    const completion = new LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
    const t0 = performance.now();
    let first = 0;
    let n = 0;
    await completion.generateCompletion(PROMPT, {
      maxTokens: TOKENS,
      temperature: 0,
      onToken: (t) => {
        if (!first) first = performance.now();
        n += t.length;
      },
    });
    const end = performance.now();
    completion.dispose({ disposeSequence: false });
    seq.dispose();
    await new Promise((r) => setTimeout(r, 0));
    return { ttftMs: first - t0, decodeTps: (n - 1) / ((end - first) / 1000), tokens: n };
  };
  const result = await measure(one);
  await context.dispose();
  await model.dispose();
  return result;
}

// ---- gateway: the real /api/v1 handlers over HTTP ---------------------------------
async function gateway() {
  const { migrate } = await import("../server/db/migrate");
  await migrate(process.env.DATABASE_URL!);
  const { db } = await import("../server/db/client");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { createTenant } = await import("../server/services/tenants/tenants");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const { addModel } = await import("../server/services/models/models");
  const { startV1Server } = await import("../server/test/v1-server");
  const tenant = await createTenant(db(), CLI_ACTOR, { slug: "bench", name: "Bench" });
  const { key } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "bench" });
  await addModel(db(), CLI_ACTOR, { name: "bench", source: modelPath!, kind: "chat", contextSize: TOKENS + 64, parallel: 4, threads: THREADS });
  const server = await startV1Server();
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };

  const one = async (): Promise<Run> => {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/api/v1/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "bench", prompt: PROMPT, max_tokens: TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let first = 0;
    let buf = "";
    let tokens = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!first) first = performance.now();
      buf += decoder.decode(value, { stream: true });
    }
    const end = performance.now();
    for (const block of buf.split("\n\n")) {
      const m = /"completion_tokens":(\d+)/.exec(block);
      if (m) tokens = Number(m[1]);
    }
    return { ttftMs: first - t0, decodeTps: (tokens - 1) / ((end - first) / 1000), tokens };
  };
  await one(); // load the model outside the measurement
  const result = await measure(one);

  // Gateway cost per request: auth (cached key) + validation + usage record + HTTP.
  const overhead = async (label: string, fn: () => Promise<Response>, n = 300) => {
    for (let i = 0; i < 20; i++) await (await fn()).arrayBuffer();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = await fn();
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${label}: HTTP ${r.status}`);
    }
    const ms = (performance.now() - t0) / n;
    console.log(`  ${label.padEnd(44)} ${fmt(ms, 2)} ms/request (sequential, ${n} requests)`);
  };
  console.log("\ngateway cost per request");
  await overhead("GET /api/v1/models (auth + DB list + log)", () => fetch(`${server.url}/api/v1/models`, { headers }));
  await overhead("POST /api/v1/completions, max_tokens 1", () =>
    fetch(`${server.url}/api/v1/completions`, { method: "POST", headers, body: JSON.stringify({ model: "bench", prompt: "Hi", max_tokens: 1 }) }),
  );
  const { getLlama, LlamaCompletion, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: THREADS });
  const m = await llama.loadModel({ modelPath: modelPath! });
  const ctx = await m.createContext({ contextSize: 256, sequences: 1, threads: THREADS });
  const n = 300;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const s = ctx.getSequence();
    await new LlamaCompletion({ contextSequence: s }).generateCompletion("Hi", { maxTokens: 1 });
    s.dispose();
    await new Promise((r) => setTimeout(r, 0));
  }
  console.log(`  ${"direct 1-token completion (same model)".padEnd(44)} ${fmt((performance.now() - start) / n, 2)} ms/request`);
  await server.close();
  const { usageWriter } = await import("../server/services/usage/usage-writer");
  await usageWriter().flush();
  const rows = await db().requestLog.count();
  console.log(`  usage rows written during the run: ${rows}`);
  return result;
}

async function measure(one: () => Promise<Run>) {
  const singles: Run[] = [];
  const aggregates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    singles.push(await one());
    const t0 = performance.now();
    const runs = await Promise.all([one(), one(), one(), one()]);
    const secs = (performance.now() - t0) / 1000;
    aggregates.push(runs.reduce((a, b) => a + b.tokens, 0) / secs);
  }
  return {
    ttftMs: median(singles.map((s) => s.ttftMs)),
    decodeTps: median(singles.map((s) => s.decodeTps)),
    aggregateTps: median(aggregates),
    tokens: singles[0]!.tokens,
  };
}

console.log(`model ${modelPath}\n${TOKENS} tokens per request, ${THREADS} thread(s), median of ${ROUNDS} rounds\n`);
const d = await direct();
const g = await gateway();
console.log(`\n${"".padEnd(28)} ${"TTFT ms".padStart(8)} ${"1-stream t/s".padStart(13)} ${"4-stream t/s".padStart(13)}`);
console.log(`${"node-llama-cpp direct".padEnd(28)} ${fmt(d.ttftMs)} ${fmt(d.decodeTps).padStart(13)} ${fmt(d.aggregateTps).padStart(13)}`);
console.log(`${"gateway /api/v1 (HTTP, SSE)".padEnd(28)} ${fmt(g.ttftMs)} ${fmt(g.decodeTps).padStart(13)} ${fmt(g.aggregateTps).padStart(13)}`);
process.exit(0);
