/**
 * Data-plane speed, as a user choosing a gateway would measure it: an instant
 * OpenAI-compatible upstream on loopback (its own process), Switchyard in its own
 * process as `next start` runs it (SQLite, an alias with one remote target, a key
 * with RPM/TPM limits, usage log on), and — when installed — Portkey's open-source
 * gateway in front of the same upstream. The same load (autocannon) goes to
 * upstream-direct, Portkey and Switchyard in alternating rounds; for each it prints
 * RPS, p50/p99 at N connections, the added p50 at one connection (sequential
 * requests, µs clock) and CPU per request (the process tree's CPU time delta over
 * the round / requests answered), with Switchyard/Portkey ratios per round.
 *
 *   # once: a production build (`next build`) of the tree to measure, e.g. the repo itself
 *   npx tsx bench/gateway.ts [--app .] [--portkey /work/.peers/portkey] [--rounds 3]
 *     [--duration 5] [--connections 50] [--seq 300] [--scenarios chat,stream,models,embeddings]
 *     [--seed 0] [--cpu-prof .tmp/bench/prof] [--only switchyard]
 *
 * --app: a directory with a `.next` production build and node_modules (default: this repo).
 * --portkey: where `npm install @portkey-ai/gateway@1.15.2` was run; the Portkey column is
 *   skipped, saying so, when it is absent. Portkey is a benchmark peer, never a dependency.
 * --seed N: N extra API keys, aliases and backends in the database (cost must not grow with state).
 *   Seeded backends are disabled unless --seed-enabled (then the periodic health checker probes them all).
 * --lean: adds a column for the same route modules served by a bare node:http server
 *   (server/test/v1-server-child.ts under tsx), i.e. without Next's router: what the lean path
 *   of issue #17 would leave.
 * --cpu-prof DIR: Switchyard runs with `--cpu-prof`; the profile is summarised at the end
 *   (self time by function and by package), see `--summarize FILE.cpuprofile`.
 *
 * Uses a fresh SQLite database under .tmp/bench/.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    role: { type: "string" },
    app: { type: "string" },
    portkey: { type: "string", default: "/work/.peers/portkey" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "50" },
    seq: { type: "string", default: "300" },
    scenarios: { type: "string", default: "chat,stream,models,embeddings" },
    seed: { type: "string", default: "0" },
    "cpu-prof": { type: "string" },
    only: { type: "string" },
    lean: { type: "boolean", default: false },
    "seed-enabled": { type: "boolean", default: false },
    summarize: { type: "string" },
    port: { type: "string", default: "0" },
  },
});

const root = path.resolve(import.meta.dirname, "..");

// ───────────────────────── the instant upstream (its own process) ─────────────────────────

function upstreamServer(port: number) {
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 };
  const whole = (model: string) =>
    JSON.stringify({
      id: "chatcmpl-up",
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: "Hello from upstream." }, finish_reason: "stop", logprobs: null }],
      usage,
    });
  const chunk = (model: string, delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: "chatcmpl-up", object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const streamed = (model: string) =>
    chunk(model, { role: "assistant", content: "" }, null) +
    ["Hello", " from", " upstream", "."].map((t) => chunk(model, { content: t }, null)).join("") +
    chunk(model, {}, "stop") +
    `data: ${JSON.stringify({ id: "chatcmpl-up", object: "chat.completion.chunk", created, model, choices: [], usage })}\n\n` +
    "data: [DONE]\n\n";
  const models = JSON.stringify({ object: "list", data: ["up-model", "up-embed"].map((id) => ({ id, object: "model", created, owned_by: "bench" })) });
  const embedding = Array.from({ length: 16 }, (_, i) => Math.round(Math.sin(i) * 1e6) / 1e6);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = req.url ?? "";
      if (req.method === "GET" && url.endsWith("/models")) {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(models);
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const model = /"model"\s*:\s*"([^"]*)"/.exec(body)?.[1] ?? "up-model";
      if (url.endsWith("/embeddings")) {
        const input = (JSON.parse(body) as { input?: unknown }).input;
        const n = Array.isArray(input) ? input.length : 1;
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(
          JSON.stringify({ object: "list", data: Array.from({ length: n }, (_, index) => ({ object: "embedding", index, embedding })), model, usage: { prompt_tokens: 3 * n, total_tokens: 3 * n } }),
        );
      }
      if (/"stream"\s*:\s*true/.test(body)) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        return void res.end(streamed(model));
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(whole(model));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, "127.0.0.1", () => console.log(`LISTENING ${(server.address() as AddressInfo).port}`));
}

// ───────────────────────── processes ─────────────────────────

function spawnListening(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; ready: RegExp | ((out: string) => boolean) },
): Promise<{ child: ChildProcess; port: number; url: string }> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const ok = typeof opts.ready === "function" ? opts.ready(out) : opts.ready.test(out);
      if (ok) {
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        const m = /LISTENING (\S+)/.exec(out)?.[1] ?? "";
        resolve({ child, port: Number(/^\d+$/.test(m) ? m : 0), url: m });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => {
      out += d.toString();
      if (process.env.BENCH_VERBOSE) process.stderr.write(d);
    });
    child.on("exit", (code) => reject(new Error(`${cmd} ${args.join(" ")} exited early (${code}):\n${out.slice(-2000)}`)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = http.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitHttp(url: string, init: RequestInit = {}, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      const r = await fetch(url, init);
      await r.text();
      if (r.status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds (user + system) of a process and all its descendants, from /proc. */
function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(f[1]);
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    total += ticks.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total / CLK_TCK;
}

// ───────────────────────── load ─────────────────────────

interface Target {
  name: string;
  pid: number;
  base: string;
  headers: Record<string, string>;
  /** model names per scenario */
  chatModel: string;
  embedModel: string;
  modelsPath: string;
}

interface Scenario {
  name: string;
  method: "GET" | "POST";
  path: (t: Target) => string;
  body?: (t: Target) => string;
}

const SCENARIOS: Record<string, Scenario> = {
  chat: {
    name: "chat, non-streaming",
    method: "POST",
    path: () => "/chat/completions",
    body: (t) => JSON.stringify({ model: t.chatModel, messages: [{ role: "user", content: "Say hello." }], max_tokens: 16 }),
  },
  stream: {
    name: "chat, streaming",
    method: "POST",
    path: () => "/chat/completions",
    body: (t) => JSON.stringify({ model: t.chatModel, messages: [{ role: "user", content: "Say hello." }], max_tokens: 16, stream: true }),
  },
  models: { name: "GET /models", method: "GET", path: (t) => t.modelsPath },
  embeddings: {
    name: "embeddings",
    method: "POST",
    path: () => "/embeddings",
    body: (t) => JSON.stringify({ model: t.embedModel, input: ["The quick brown fox jumps over the lazy dog."] }),
  },
};

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerReq: number;
  seqP50: number;
  errors: number;
}

async function loadRound(t: Target, s: Scenario, connections: number, duration: number, seq: number): Promise<Sample> {
  const autocannon = (await import("autocannon")).default;
  const url = t.base + s.path(t);
  const headers = { ...t.headers, ...(s.body ? { "content-type": "application/json" } : {}) };
  const body = s.body?.(t);
  const cpu0 = treeCpuSeconds(t.pid);
  const r = await autocannon({ url, method: s.method, headers, body, connections, duration });
  const cpu1 = treeCpuSeconds(t.pid);
  const ok = r["2xx"];
  // one connection, sequential, with a µs clock: the added latency per request
  const { Pool } = await import("undici");
  const pool = new Pool(new URL(url).origin, { connections: 1 });
  const times: number[] = [];
  let errors = r.non2xx + r.errors;
  for (let i = 0; i < seq + 20; i++) {
    const t0 = process.hrtime.bigint();
    const res = await pool.request({ path: new URL(url).pathname, method: s.method, headers, body });
    await res.body.text();
    if (res.statusCode !== 200) errors++;
    if (i >= 20) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await pool.close();
  times.sort((a, b) => a - b);
  return {
    rps: ok / duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuMsPerReq: ok ? ((cpu1 - cpu0) * 1000) / ok : NaN,
    seqP50: times[Math.floor(times.length / 2)]!,
    errors,
  };
}

/** Checks that a target answers the scenario correctly before it is measured. */
async function verify(t: Target, s: Scenario): Promise<string | null> {
  const res = await fetch(t.base + s.path(t), { method: s.method, headers: { ...t.headers, ...(s.body ? { "content-type": "application/json" } : {}) }, body: s.body?.(t) });
  const text = await res.text();
  if (res.status !== 200) return `${res.status}: ${text.slice(0, 300)}`;
  return null;
}

// ───────────────────────── profiles ─────────────────────────

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Where a frame's code lives, for the cost breakdown. */
function categoryOf(url: string): string | null {
  if (!url) return null;
  if (/@prisma|better-sqlite3|adapter-pg|node_modules\/pg\//.test(url)) return "database (Prisma, driver)";
  if (/node_modules\/next\//.test(url)) return "Next.js request handling";
  if (/node:internal\/deps\/undici|node_modules\/undici\//.test(url)) return "undici (fetch / Request / Response)";
  if (/node:internal\/webstreams/.test(url)) return "web streams";
  if (/\.next\/server\/chunks\//.test(url)) return "our code (bundled)";
  if (/node_modules\/zod\//.test(url)) return "zod";
  if (/prom-client/.test(url)) return "metrics (prom-client)";
  if (url.startsWith("node:")) return "node core (" + url.replace(/^node:(internal\/)?/, "").split("/")[0] + ")";
  return url.replace(/.*node_modules\/((?:@[^/]+\/)?[^/]+).*/, "$1");
}

/** Functions whose inclusive time is worth naming (bundled names survive minification for exports we call). */
const INCLUSIVE = ["planRoute", "planRequest", "verifyBearer", "verifyApiKey", "authenticate", "admit", "record", "generate", "sseData", "readRawBody", "safeParse", "prepareGeneration", "chatCompletions", "observe", "finish"];

function summarize(file: string, top = 20) {
  const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cat = new Map<string, number>();
  const incl = new Map<string, number>();
  const self = new Map<string, number>();
  let busy = 0;
  let startup = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === "(idle)") return;
    const stack: ProfileNode[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n)!);
    // module loading and compilation at start-up is not per-request cost
    if (stack.some((f) => /wrapSafe|transformSync|compileFunction|loadChunk/.test(f.callFrame.functionName))) {
      startup += dt;
      return;
    }
    busy += dt;
    let c: string | null = null;
    for (const f of stack) if ((c = categoryOf(f.callFrame.url))) break;
    c ??= `(${leaf.callFrame.functionName || "native"})`;
    cat.set(c, (cat.get(c) ?? 0) + dt);
    const names = new Set(stack.map((f) => f.callFrame.functionName).filter((n) => INCLUSIVE.includes(n)));
    for (const n of names) incl.set(n, (incl.get(n) ?? 0) + dt);
    const fname = `${leaf.callFrame.functionName || "(anonymous)"} ${leaf.callFrame.url.replace(/^.*\/(node_modules|\.next)\//, "$1/")}:${leaf.callFrame.lineNumber + 1}`;
    self.set(fname, (self.get(fname) ?? 0) + dt);
  });
  const show = (m: Map<string, number>, title: string, n = top) => {
    console.log(`\n${title}`);
    for (const [k, us] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
  };
  console.log(`busy ${(busy / 1000).toFixed(0)} ms (start-up ${(startup / 1000).toFixed(0)} ms left out); shares of busy time:`);
  show(cat, "by where the innermost non-native frame lives (native work such as GC and socket writes goes to its caller)");
  show(incl, "inclusive time of named functions");
  show(self, "self time by function");
}

// ───────────────────────── main ─────────────────────────

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "—");
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const range = (xs: number[], d = 1) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return "—";
  return s[0] === s[s.length - 1] || s.length === 1 ? fmt(s[0]!, d) : `${fmt(s[0]!, d)}–${fmt(s[s.length - 1]!, d)}`;
};

async function main() {
  if (values.summarize) return summarize(values.summarize);
  if (values.role === "upstream") return upstreamServer(Number(values.port));

  const app = path.resolve(values.app ?? root);
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const seq = Number(values.seq);
  const seedN = Number(values.seed);
  const scenarios = values.scenarios!.split(",").map((s) => {
    const sc = SCENARIOS[s.trim()];
    if (!sc) throw new Error(`unknown scenario ${s}; one of ${Object.keys(SCENARIOS).join(", ")}`);
    return sc;
  });
  if (!existsSync(path.join(app, ".next", "BUILD_ID"))) throw new Error(`${app} has no production build (.next/BUILD_ID): run \`npx next build\` there first`);

  const dir = path.join(root, ".tmp/bench");
  mkdirSync(dir, { recursive: true });
  const dbFile = path.join(dir, `gateway-${process.pid}.db`);
  const secret = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";
  process.env.DATABASE_URL = `file:${dbFile}`;
  process.env.AUTH_SECRET = secret;
  const children: ChildProcess[] = [];
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  };
  process.on("exit", cleanup);

  // upstream
  const upReady = await spawnListening(process.execPath, ["--import", "tsx", path.join(root, "bench/gateway.ts"), "--role", "upstream"], { ready: /LISTENING \d+/ });
  const up = upReady.child;
  children.push(up);
  const upUrl = `http://127.0.0.1:${upReady.port}`;

  // Switchyard's database: tenant, backend → upstream, aliases, a key with RPM/TPM limits
  const { migrate } = await import("../server/db/migrate");
  const { db } = await import("../server/db/client");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { createTenant } = await import("../server/services/tenants/tenants");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const { createBackend } = await import("../server/services/backends/backends");
  const { createPolicy } = await import("../server/services/routing/policies");
  const { setKeyLimits } = await import("../server/services/limits/limits");
  await migrate(process.env.DATABASE_URL);
  const tenant = await createTenant(db(), CLI_ACTOR, { slug: "bench-gateway", name: "Bench gateway" });
  const backend = await createBackend(db(), CLI_ACTOR, { name: "bench-upstream", baseUrl: `${upUrl}/v1`, discover: false, models: ["up-model", "up-embed"], public: true });
  await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: "bench", strategy: "single", targets: [{ type: "backend", backendId: backend.id, model: "up-model" }] });
  await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: "bench-embed", strategy: "single", targets: [{ type: "backend", backendId: backend.id, model: "up-embed" }] });
  const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "bench" });
  const keyId = apiKey.id;
  await setKeyLimits(db(), CLI_ACTOR, tenant.id, { keyId, rpm: 100_000_000, tpm: 1_000_000_000 });
  if (seedN > 0) await seed(seedN, tenant.id, upUrl);
  await db().$disconnect();

  // Switchyard, as `next start` runs it
  const syPort = await freePort();
  const profDir = values["cpu-prof"] ? path.resolve(values["cpu-prof"]) : null;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const profFlags = profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
  const sy = spawn(process.execPath, [...profFlags, path.join(app, "node_modules/next/dist/bin/next"), "start", "-p", String(syPort), "-H", "127.0.0.1"], {
    cwd: app,
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      DATABASE_URL: `file:${dbFile}`,
      AUTH_SECRET: secret,
    },
    stdio: ["ignore", process.env.BENCH_VERBOSE ? "inherit" : "ignore", "inherit"],
  });
  children.push(sy);
  const syBase = `http://127.0.0.1:${syPort}${basePathOf(app)}/api/v1`;
  await waitHttp(`${syBase}/models`, { headers: { authorization: `Bearer ${key}` } });

  const targets: Target[] = [
    { name: "upstream direct", pid: up.pid!, base: `${upUrl}/v1`, headers: {}, chatModel: "up-model", embedModel: "up-embed", modelsPath: "/models" },
  ];

  // Portkey OSS, when installed
  const portkeyEntry = path.join(path.resolve(values.portkey!), "node_modules/@portkey-ai/gateway/build/start-server.js");
  let portkeyNote = "";
  if (existsSync(portkeyEntry)) {
    const pkPort = await freePort();
    const pk = spawn(process.execPath, [portkeyEntry, `--port=${pkPort}`, "--headless"], {
      env: { ...process.env, NODE_ENV: "production", TRUSTED_CUSTOM_HOSTS: "127.0.0.1,localhost" },
      // its failures are reported per scenario; its stack traces only with BENCH_VERBOSE
      stdio: ["ignore", process.env.BENCH_VERBOSE ? "inherit" : "ignore", process.env.BENCH_VERBOSE ? "inherit" : "ignore"],
    });
    children.push(pk);
    await waitHttp(`http://127.0.0.1:${pkPort}/`);
    targets.push({
      name: "Portkey OSS",
      pid: pk.pid!,
      base: `http://127.0.0.1:${pkPort}/v1`,
      headers: { "x-portkey-provider": "openai", "x-portkey-custom-host": `${upUrl}/v1`, authorization: "Bearer sk-bench" },
      chatModel: "up-model",
      embedModel: "up-embed",
      modelsPath: "/models",
    });
    const v = JSON.parse(readFileSync(path.join(path.dirname(portkeyEntry), "../package.json"), "utf8")) as { version: string };
    portkeyNote = `Portkey OSS ${v.version} (${portkeyEntry})`;
  } else {
    portkeyNote = `Portkey column skipped: ${portkeyEntry} not found (install it outside the project: mkdir -p /work/.peers/portkey && cd /work/.peers/portkey && npm init -y && npm install @portkey-ai/gateway@1.15.2, or pass --portkey DIR)`;
  }
  targets.push({ name: "Switchyard", pid: sy.pid!, base: syBase, headers: { authorization: `Bearer ${key}` }, chatModel: "bench", embedModel: "bench-embed", modelsPath: "/models" });
  if (values.lean) {
    const lean = await spawnListening(process.execPath, [...profFlags, "--import", "tsx", path.join(root, "server/test/v1-server-child.ts")], {
      cwd: root,
      env: { ...process.env, NODE_ENV: "production", DATABASE_URL: `file:${dbFile}`, AUTH_SECRET: secret },
      ready: /LISTENING \S+/,
    });
    children.push(lean.child);
    targets.push({ name: "Switchyard, no Next router", pid: lean.child.pid!, base: `${lean.url}/api/v1`, headers: { authorization: `Bearer ${key}` }, chatModel: "bench", embedModel: "bench-embed", modelsPath: "/models" });
  }
  const measured = values.only ? targets.filter((t) => t.name.toLowerCase().includes(values.only!.toLowerCase()) || t.name === "upstream direct") : targets;

  console.log(`machine: ${os.cpus().length}× ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`app: ${app}; ${portkeyNote}`);
  console.log(`load: autocannon ${connections} connections × ${duration} s per target per round, ${rounds} alternating rounds; then ${seq} sequential requests on 1 connection; seed ${seedN}\n`);

  for (const s of scenarios) {
    const running: Target[] = [];
    const notes: string[] = [];
    for (const t of measured) {
      const problem = await verify(t, s);
      // Switchyard must pass; a peer that cannot serve a scenario is left out of it, saying why
      if (problem && t.name === "Switchyard") throw new Error(`${t.name} fails ${s.name}: ${problem}`);
      if (problem) notes.push(`${t.name} left out of this scenario: it answered ${problem.replace(/\s+/g, " ")}`);
      else running.push(t);
    }
    // warm-up: JIT, pools, caches
    for (const t of running) await loadRound(t, s, connections, 1, 20);
    const samples = new Map<string, Sample[]>(running.map((t) => [t.name, []]));
    for (let r = 0; r < rounds; r++) {
      // alternate the order each round so both gateways see the same load from the rest of the box
      const order = r % 2 ? [...running].reverse() : running;
      for (const t of order) samples.get(t.name)!.push(await loadRound(t, s, connections, duration, seq));
    }
    const direct = samples.get("upstream direct")!;
    console.log(`### ${s.name}\n`);
    console.log(`| | RPS | p50 ms @${connections} | p99 ms @${connections} | added p50 ms @1 | CPU ms/req | errors |`);
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const t of running) {
      const xs = samples.get(t.name)!;
      const added = xs.map((x, i) => x.seqP50 - direct[i]!.seqP50);
      console.log(
        `| ${t.name} | ${range(xs.map((x) => x.rps), 0)} | ${range(xs.map((x) => x.p50), 0)} | ${range(xs.map((x) => x.p99), 0)} | ${t.name === "upstream direct" ? `(${fmt(median(xs.map((x) => x.seqP50)), 2)} total)` : range(added, 2)} | ${range(xs.map((x) => x.cpuMsPerReq), 2)} | ${xs.reduce((n, x) => n + x.errors, 0)} |`,
      );
    }
    const pk = samples.get("Portkey OSS");
    const syS = samples.get("Switchyard");
    if (pk && syS) {
      console.log(`\nSwitchyard / Portkey throughput per round: ${syS.map((x, i) => (x.rps / pk[i]!.rps).toFixed(2)).join(", ")}×`);
      console.log(`Switchyard / Portkey CPU per request per round: ${syS.map((x, i) => (x.cpuMsPerReq / pk[i]!.cpuMsPerReq).toFixed(2)).join(", ")}×`);
    }
    for (const n of notes) console.log(`\n${n}`);
    console.log("");
  }

  // stop the gateways gracefully (shutdown hooks flush the usage log; --cpu-prof writes on exit)
  await Promise.all(
    [sy, ...children.filter((c) => c !== sy && c.spawnargs.some((a) => a.endsWith("v1-server-child.ts")))].map((c) => {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      return exited;
    }),
  );
  cleanup();
  if (profDir) {
    const files = readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile")).map((f) => path.join(profDir, f));
    for (const f of files) {
      console.log(`\nprofile ${f}`);
      summarize(f);
    }
  }
  rmSync(dbFile, { force: true });
  for (const ext of ["-wal", "-shm"]) rmSync(dbFile + ext, { force: true });
}

/** The base path the app was built with (its routes manifest). */
function basePathOf(app: string): string {
  const m = path.join(app, ".next", "routes-manifest.json");
  return existsSync(m) ? ((JSON.parse(readFileSync(m, "utf8")) as { basePath?: string }).basePath ?? "") : "";
}

/** n more keys, aliases and backends (and tenants to hold them): state that must not slow a request. */
async function seed(n: number, benchTenantId: string, upUrl: string) {
  const { db } = await import("../server/db/client");
  const { newId } = await import("../server/lib/ids");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const rows = Array.from({ length: n }, (_, i) => i);
  const chunk = 500;
  for (let i = 0; i < n; i += chunk) {
    const part = rows.slice(i, i + chunk);
    // healthy, as a checked fleet would be; enabled ones are probed by the periodic checker every 15 s,
    // whose work grows with the fleet (docs/benchmarks.md) — --seed-enabled measures that too
    const backends = part.map((j) => ({ id: newId("bke"), name: `seed-backend-${j}`, baseUrl: `${upUrl}/v1`, models: JSON.stringify(["up-model"]), public: j % 2 === 0, health: "healthy" as const, enabled: !!values["seed-enabled"] }));
    await db().backend.createMany({ data: backends });
    await db().routingPolicy.createMany({
      data: part.map((j) => ({
        id: newId("pol"),
        tenantId: benchTenantId,
        alias: `seed-alias-${j}`,
        strategy: "single",
        targets: JSON.stringify([{ type: "backend", backendId: backends[j - i]!.id, model: "up-model" }]),
        config: JSON.stringify({ strongShare: 0.2 }),
        version: 1,
        enabled: true,
      })),
    });
    for (const j of part) await createApiKey(db(), CLI_ACTOR, benchTenantId, { name: `seed-key-${j}` });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
