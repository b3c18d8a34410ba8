/**
 * Routing cost, two figures side by side in one run:
 *
 * 1. The decision: `decide()` per strategy (pure, 4 targets), the difficulty score
 *    of a multi-turn conversation, and the whole per-request plan (`planRoute`:
 *    policy + targets + health from the database, then the decision) — µs p50/p99.
 * 2. Proxying: the same chat request (non-stream and stream) sent N times straight
 *    to an OpenAI-compatible upstream (a loopback server that answers at once, so
 *    only overhead is measured) and through the gateway's /api/v1 with an alias
 *    whose single target is that upstream — ms p50/p99 and the difference.
 *
 * 3. Tool calls: a chat with tools whose upstream streams three parallel calls in
 *    twelve fragments, direct (stream) and through the gateway (non-stream: assembled
 *    by us; stream: fragments re-emitted one for one).
 *
 *   npx tsx bench/routing.ts [--decisions 200000] [--requests 400]
 *
 * Uses a fresh SQLite database under .tmp/bench/.
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { decisions: { type: "string", default: "200000" }, requests: { type: "string", default: "400" } } });
const DECISIONS = Number(values.decisions);
const REQUESTS = Number(values.requests);
const root = path.resolve(import.meta.dirname, "..");
const dir = path.join(root, ".tmp/bench");
mkdirSync(dir, { recursive: true });
const dbFile = path.join(dir, `routing-${process.pid}.db`);
process.env.DATABASE_URL = `file:${dbFile}`;
process.env.AUTH_SECRET ??= "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";

function pct(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: pct(s, 0.5), p99: pct(s, 0.99) };
}
function timeEach(n: number, fn: (i: number) => unknown): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    out[i] = Number(process.hrtime.bigint() - t0) / 1000; // µs
  }
  return out;
}

async function main() {
  const { decide } = await import("../server/routing/router");
  const { difficultyScore, featuresOf } = await import("../server/routing/difficulty");
  const { migrate } = await import("../server/db/migrate");
  const { db } = await import("../server/db/client");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { createTenant } = await import("../server/services/tenants/tenants");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const { createBackend } = await import("../server/services/backends/backends");
  const { createPolicy } = await import("../server/services/routing/policies");
  const { planRoute } = await import("../server/services/routing/plan");
  const { verifyBearer } = await import("../server/auth/bearer");
  const { startFakeUpstream } = await import("../server/test/fake-upstream");
  const { startV1Server } = await import("../server/test/v1-server");
  const { usageWriter } = await import("../server/services/usage/usage-writer");

  // ── 1. decisions ──
  const targets = ["a", "b", "c", "d"].map((key, i) => ({ key, weight: i + 1 }));
  const live = { healthy: (k: string) => k !== "c", inFlight: (k: string) => k.charCodeAt(0) % 3 };
  const conversation = [
    { role: "system" as const, content: "You are a helpful assistant." },
    { role: "user" as const, content: "Explain why this function is slow:\n```\nfunction f(xs) {\n  return xs.map(x => xs.indexOf(x));\n}\n```" },
    { role: "assistant" as const, content: "indexOf inside map is O(n²)." },
    { role: "user" as const, content: "Prove it and compare with a Map-based version, step by step. ".repeat(8) },
  ];
  const rows: [string, { p50: number; p99: number }][] = [];
  for (const strategy of ["single", "fallback", "weighted", "least_busy", "difficulty"] as const) {
    const policy = { strategy, targets: strategy === "single" ? targets.slice(0, 1) : targets, thresholds: [0.2, 0.4, 0.6] };
    timeEach(20_000, () => decide(policy, { score: 0.5 }, live, Math.random)); // warm-up
    rows.push([`decide() ${strategy}`, summary(timeEach(DECISIONS, (i) => decide(policy, { score: (i % 100) / 100 }, live, Math.random)))]);
  }
  timeEach(5000, () => difficultyScore(featuresOf({ messages: conversation })));
  rows.push(["difficulty score (4 messages, ~0.9 kB)", summary(timeEach(Math.min(DECISIONS, 50_000), () => difficultyScore(featuresOf({ messages: conversation }))))]);

  // ── the per-request plan, with the database ──
  await migrate(process.env.DATABASE_URL!);
  const upstream = await startFakeUpstream({ models: ["up-model"] });
  const tenant = await createTenant(db(), CLI_ACTOR, { slug: "bench-routing", name: "Bench routing" });
  const backend = await createBackend(db(), CLI_ACTOR, { name: "bench-upstream", baseUrl: upstream.url, discover: false, models: ["up-model"], public: true });
  const fb = await createBackend(db(), CLI_ACTOR, { name: "bench-spare", baseUrl: upstream.url, discover: false, models: ["up-model"], public: true });
  const single = await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: "bench", strategy: "single", targets: [{ type: "backend", backendId: backend.id, model: "up-model" }] });
  await createPolicy(db(), CLI_ACTOR, tenant.id, {
    alias: "bench-difficulty",
    strategy: "difficulty",
    targets: [
      { type: "backend", backendId: backend.id, model: "up-model" },
      { type: "backend", backendId: fb.id, model: "up-model" },
    ],
  });
  const { key } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "bench" });
  const principal = (await verifyBearer(key))!;
  for (const alias of [single.alias, "bench-difficulty"]) {
    const samples: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = process.hrtime.bigint();
      await planRoute(db(), principal, alias, { messages: conversation });
      if (i >= 200) samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    rows.push([`planRoute() '${alias}' (SQLite)`, summary(samples)]);
  }
  console.log("\n| what | p50 µs | p99 µs |\n|---|---:|---:|");
  for (const [name, s] of rows) console.log(`| ${name} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} |`);

  // ── 2. proxy overhead ──
  const gateway = await startV1Server();
  const body = (model: string, stream: boolean) => JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], stream });
  const call = async (url: string, model: string, stream: boolean, auth?: string, makeBody = body) => {
    const t0 = process.hrtime.bigint();
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body: makeBody(model, stream) });
    await res.text();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  console.log(`\n| request (${REQUESTS} sequential) | direct p50 ms | direct p99 ms | via gateway p50 ms | via gateway p99 ms | overhead p50 ms |\n|---|---:|---:|---:|---:|---:|`);
  for (const stream of [false, true]) {
    const direct: number[] = [];
    const via: number[] = [];
    for (let i = 0; i < 30; i++) {
      await call(`${upstream.url}/chat/completions`, "up-model", stream);
      await call(`${gateway.url}/api/v1/chat/completions`, "bench", stream, key);
    }
    // interleaved, so both see the same machine load
    for (let i = 0; i < REQUESTS; i++) {
      direct.push(await call(`${upstream.url}/chat/completions`, "up-model", stream));
      via.push(await call(`${gateway.url}/api/v1/chat/completions`, "bench", stream, key));
    }
    const d = summary(direct);
    const v = summary(via);
    console.log(`| chat, ${stream ? "stream" : "non-stream"} | ${d.p50.toFixed(2)} | ${d.p99.toFixed(2)} | ${v.p50.toFixed(2)} | ${v.p99.toFixed(2)} | ${(v.p50 - d.p50).toFixed(2)} |`);
  }
  // ── 3. tool calls (this core only): 3 parallel calls in 12 fragments + a usage chunk ──
  const toolsUpstream = await startFakeUpstream({ models: ["up-model"] });
  const frag = (index: number, f: object) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index, ...f }] }, finish_reason: null }] });
  toolsUpstream.behave({
    kind: "chunks",
    chunks: [
      { choices: [{ index: 0, delta: { role: "assistant", content: null }, finish_reason: null }] },
      ...[0, 1, 2].flatMap((i) => [
        frag(i, { id: `call_${i}`, type: "function", function: { name: "lookup", arguments: "" } }),
        frag(i, { function: { arguments: '{"q": "' } }),
        frag(i, { function: { arguments: `item ${i}` } }),
        frag(i, { function: { arguments: '"}' } }),
      ]),
      { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      { choices: [], usage: { prompt_tokens: 40, completion_tokens: 30, total_tokens: 70 } },
    ],
  });
  const toolsBackend = await createBackend(db(), CLI_ACTOR, { name: "bench-tools", baseUrl: toolsUpstream.url, discover: false, models: ["up-model"], public: true });
  await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: "bench-tools", strategy: "single", targets: [{ type: "backend", backendId: toolsBackend.id, model: "up-model" }] });
  const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } }];
  const toolBody = (model: string, stream: boolean) => JSON.stringify({ model, messages: [{ role: "user", content: "Look up three items" }], tools, stream });
  const callTools = (url: string, model: string, stream: boolean, auth?: string) => call(url, model, stream, auth, toolBody);
  for (const stream of [false, true]) {
    const direct: number[] = [];
    const via: number[] = [];
    for (let i = 0; i < 30; i++) await callTools(`${gateway.url}/api/v1/chat/completions`, "bench-tools", stream, key);
    for (let i = 0; i < REQUESTS; i++) {
      // the fake answers non-stream requests for scripted chunks with a 400: direct is always the stream
      direct.push(await callTools(`${toolsUpstream.url}/chat/completions`, "up-model", true));
      via.push(await callTools(`${gateway.url}/api/v1/chat/completions`, "bench-tools", stream, key));
    }
    const d = summary(direct);
    const v = summary(via);
    console.log(`| chat + 3 tool calls, ${stream ? "stream" : "non-stream"} | ${d.p50.toFixed(2)} | ${d.p99.toFixed(2)} | ${v.p50.toFixed(2)} | ${v.p99.toFixed(2)} | ${(v.p50 - d.p50).toFixed(2)} |`);
  }
  await toolsUpstream.close();

  await usageWriter().flush();
  await gateway.close();
  await upstream.close();
  await db().$disconnect();
  rmSync(dbFile, { force: true });
  for (const ext of ["-wal", "-shm"]) rmSync(dbFile + ext, { force: true });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
