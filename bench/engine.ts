/**
 * Engine speed (issue #8): single-stream decode t/s, time to first token and 4-stream
 * aggregate t/s on a generated ~100M-parameter F16 llama, measured
 *   - direct:  node-llama-cpp in this process (LlamaCompletion on a 4-sequence context)
 *   - api:     our /api/v1 route handlers over HTTP (started here, like bench/inference.ts)
 *   - url:     any OpenAI-compatible server (--base-url), e.g. llama-server or `next start`
 * Paired rounds: each round runs one single stream, then four concurrent streams.
 *
 *   npx tsx bench/engine.ts --target direct|api [--engine native|prebuilt] [--weights f16|q8_0] [--tokens 128] [--rounds 3] [--threads 1]
 *   npx tsx bench/engine.ts --target url --base-url http://127.0.0.1:8080/v1 [--api-key K] [--model NAME] [--server-pid PID]
 *   npx tsx bench/engine.ts --target chat-ttft [--rounds 40]     # our chat path vs direct evaluation, tiny model
 *   npx tsx bench/engine.ts --target api --against http://127.0.0.1:8080/v1 [--against-model M] --rounds 15
 *       # ours and another server in alternating rounds, with per-round ratios (see pairedRounds)
 *
 * --engine prebuilt hides the native-build record, so the pool and the direct side load
 * node-llama-cpp's prebuilt binary; native (default) uses `engine build`'s binary when
 * it may run here. "Before the batching fix": `npx patch-package --reverse`, run, then
 * `npx patch-package` to re-apply. Numbers, not assertions: see docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { announce, engineBinary, spawnBenchServer, startBenchServer } from "./serve";

const { values } = parseArgs({
  options: {
    target: { type: "string", default: "direct" },
    engine: { type: "string", default: "native" },
    "base-url": { type: "string" },
    "api-key": { type: "string", default: "none" },
    model: { type: "string" },
    "model-file": { type: "string" },
    "server-pid": { type: "string" },
    against: { type: "string" },
    "against-model": { type: "string", default: "default" },
    "against-api-key": { type: "string", default: "none" },
    tokens: { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "1" },
    weights: { type: "string", default: "f16" },
    serve: { type: "boolean", default: false },
  },
});
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const THREADS = Number(values.threads);
const PROMPT = "Once upon a time there was a little girl named Lily";
const STREAMS = 4;

const dir = mkdtempSync(path.join(tmpdir(), "switchyard-engine-bench-"));
if (values.engine === "prebuilt") process.env.SWITCHYARD_ENGINE_DIR = path.join(dir, "no-native-build");
process.env.LLAMA_THREADS = String(THREADS);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Run {
  ttftMs: number;
  decodeTps: number;
  tokens: number;
}

async function benchModelFile(): Promise<string> {
  if (values["model-file"]) return path.resolve(values["model-file"]);
  const { BENCH_MODEL_DEFAULT, writeBenchModel } = await import("../scripts/tiny-gguf/make-bench-model");
  if (values.weights !== "f16" && values.weights !== "q8_0") throw new Error("--weights f16|q8_0");
  // kept between runs in .tmp/bench: generating ~200 MB takes ~50 s
  const r = await writeBenchModel(path.resolve(".tmp/bench"), { ...BENCH_MODEL_DEFAULT, weights: values.weights });
  return r.path;
}

// Tokens per CPU-second of this process (user + system, all threads) next to wall-clock
// t/s: on a machine shared with other work the wall clock measures the neighbours too,
// CPU time far less. For --target url, --server-pid adds the server process's CPU time
// (from /proc), so another server is measured the way `api` measures ours (client + server).
let serverPid = values["server-pid"] ? Number(values["server-pid"]) : null;
const CLK_TCK = 100;
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after "pid (comm) ": state is field 3, utime 14, stime 15
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6 + (serverPid ? processCpuSeconds(serverPid) : 0);
};

async function measure(one: () => Promise<Run>) {
  const singles: Run[] = [];
  const aggregates: number[] = [];
  const singleCpu: number[] = [];
  const aggregateCpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let c0 = cpuSeconds();
    const single = await one();
    singles.push(single);
    singleCpu.push(single.tokens / (cpuSeconds() - c0));
    c0 = cpuSeconds();
    const t0 = performance.now();
    const runs = await Promise.all(Array.from({ length: STREAMS }, () => one()));
    const tokens = runs.reduce((a, b) => a + b.tokens, 0);
    aggregates.push(tokens / ((performance.now() - t0) / 1000));
    aggregateCpu.push(tokens / (cpuSeconds() - c0));
  }
  return {
    ttftMs: median(singles.map((s) => s.ttftMs)),
    decodeTps: median(singles.map((s) => s.decodeTps)),
    aggregateTps: median(aggregates),
    singleTokensPerCpuSecond: median(singleCpu),
    aggregateTokensPerCpuSecond: median(aggregateCpu),
    tokensPerRequest: singles[0]!.tokens,
    singles: singles.map((s) => +s.decodeTps.toFixed(1)),
    aggregates: aggregates.map((a) => +a.toFixed(1)),
  };
}

/**
 * Ours against another server, round by round: each round runs a single stream on both
 * sides, then four streams on both, and the side that goes first alternates. On a shared
 * (virtual) machine throughput drifts by ±10 % within minutes; a ratio taken inside one
 * round sees both sides under the same conditions, so the median of the per-round ratios
 * holds still where the ratio of two separate runs does not.
 */
async function pairedRounds(ours: () => Promise<Run>, theirs: () => Promise<Run>) {
  const sides = { ours: { singles: [] as Run[], aggregates: [] as number[] }, theirs: { singles: [] as Run[], aggregates: [] as number[] } };
  const singleRatio: number[] = [];
  const aggregateRatio: number[] = [];
  const ttftRatio: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = (r % 2 === 0 ? ["ours", "theirs"] : ["theirs", "ours"]) as ("ours" | "theirs")[];
    const fn = { ours, theirs };
    const single: Partial<Record<"ours" | "theirs", Run>> = {};
    const aggregate: Partial<Record<"ours" | "theirs", number>> = {};
    for (const side of order) single[side] = await fn[side]();
    for (const side of order) {
      const t0 = performance.now();
      const runs = await Promise.all(Array.from({ length: STREAMS }, () => fn[side]()));
      aggregate[side] = runs.reduce((a, b) => a + b.tokens, 0) / ((performance.now() - t0) / 1000);
    }
    for (const side of order) {
      sides[side].singles.push(single[side]!);
      sides[side].aggregates.push(aggregate[side]!);
    }
    singleRatio.push(single.ours!.decodeTps / single.theirs!.decodeTps);
    aggregateRatio.push(aggregate.ours! / aggregate.theirs!);
    ttftRatio.push(single.ours!.ttftMs / single.theirs!.ttftMs);
    console.log(
      `round ${r + 1}: 1 stream ${single.ours!.decodeTps.toFixed(1)} vs ${single.theirs!.decodeTps.toFixed(1)} t/s, ` +
        `${STREAMS} streams ${aggregate.ours!.toFixed(1)} vs ${aggregate.theirs!.toFixed(1)} t/s`,
    );
  }
  const summary = (x: (typeof sides)["ours"]) => ({
    ttftMs: +median(x.singles.map((s) => s.ttftMs)).toFixed(1),
    decodeTps: +median(x.singles.map((s) => s.decodeTps)).toFixed(1),
    aggregateTps: +median(x.aggregates).toFixed(1),
  });
  const range = (xs: number[]) => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;
  const result = { ours: summary(sides.ours), theirs: summary(sides.theirs), singleRatio, aggregateRatio, ttftRatio };
  console.log(JSON.stringify(result));
  console.log(
    `ours: TTFT ${result.ours.ttftMs} ms | 1 stream ${result.ours.decodeTps} t/s | ${STREAMS} streams ${result.ours.aggregateTps} t/s\n` +
      `theirs: TTFT ${result.theirs.ttftMs} ms | 1 stream ${result.theirs.decodeTps} t/s | ${STREAMS} streams ${result.theirs.aggregateTps} t/s\n` +
      `ours/theirs, median of ${ROUNDS} rounds (min–max): 1 stream ${range(singleRatio)} | ${STREAMS} streams ${range(aggregateRatio)} | TTFT ${range(ttftRatio)}`,
  );
}

/** measure(one), or with --against the paired rounds (which print their own results; then null). */
async function measureOrPair(one: () => Promise<Run>) {
  if (!values.against) return measure(one);
  const theirs = streamer(values.against.replace(/\/$/, ""), values["against-api-key"]!, values["against-model"]!);
  await theirs();
  await pairedRounds(one, theirs);
  return null;
}

// ---- direct: node-llama-cpp in this process ---------------------------------------
async function direct(file: string) {
  const n = await import("node-llama-cpp");
  const { loadLlama } = await import("../server/inference/llama-runtime");
  const { llama, binary, fallbackReason } = await loadLlama(n.getLlama, { gpu: false, logLevel: n.LlamaLogLevel.error, maxThreads: THREADS });
  console.log(`binary: ${binary}${fallbackReason ? ` (${fallbackReason})` : ""}`);
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: STREAMS * (TOKENS + 64), sequences: STREAMS, threads: THREADS });
  const one = async (): Promise<Run> => {
    const seq = context.getSequence();
    const completion = new n.LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
    const t0 = performance.now();
    let first = 0;
    let tokens = 0;
    await completion.generateCompletion(PROMPT, {
      maxTokens: TOKENS,
      temperature: 0,
      onToken: (t) => {
        if (!first) first = performance.now();
        tokens += t.length;
      },
    });
    const end = performance.now();
    completion.dispose({ disposeSequence: false });
    seq.dispose();
    // a disposed sequence's id comes back asynchronously
    await new Promise((r) => setImmediate(r));
    return { ttftMs: first - t0, decodeTps: (tokens - 1) / ((end - first) / 1000), tokens };
  };
  await one(); // warm-up
  return measureOrPair(one);
}

// ---- any OpenAI-compatible server: streaming /completions --------------------------
function streamer(baseUrl: string, apiKey: string, model: string) {
  return async (): Promise<Run> => {
    const t0 = performance.now();
    const res = await fetch(`${baseUrl}/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model,
        prompt: PROMPT,
        max_tokens: TOKENS,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        // llama-server only; others ignore unknown fields
        cache_prompt: false,
      }),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    const decoder = new TextDecoder();
    let first = 0;
    let buf = "";
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (!first && text.includes('"text"')) first = performance.now();
      buf += text;
    }
    const end = performance.now();
    let tokens = 0;
    let textChunks = 0;
    for (const block of buf.split("\n\n")) {
      const usage = /"completion_tokens":\s*(\d+)/.exec(block);
      if (usage) tokens = Number(usage[1]);
      else if (/"text":\s*"[^"]/.test(block)) textChunks++;
    }
    tokens ||= textChunks; // a server without usage in streams: one chunk per token
    return { ttftMs: first - t0, decodeTps: (tokens - 1) / ((end - first) / 1000), tokens };
  };
}

// ---- our /api/v1 handlers over HTTP (a server process of its own: bench/serve.ts) -----

/** --serve: the child. Sets up a tenant, a key and the model, serves /api/v1, says where. */
async function serve(file: string) {
  const server = await startBenchServer({
    dir,
    tenants: [{ slug: "bench", name: "Bench" }],
    model: { source: file, contextSize: Math.max(128, TOKENS + 64), parallel: STREAMS, threads: THREADS },
  });
  const key = server.keys[0]!;
  const one = streamer(server.url, key, "bench");
  await one(); // loads the model
  announce({ url: server.url, key, binary: await engineBinary() }, server);
}

async function api() {
  const { ready, child, stop } = await spawnBenchServer<{ url: string; key: string; binary: string }>();
  console.log(`binary: ${ready.binary}`);
  serverPid = child.pid!;
  const one = streamer(ready.url, ready.key, "bench");
  await one();
  const result = await measureOrPair(one);
  stop(); // the child closes its server and exits
  return result;
}

// ---- chat path TTFT: LocalPool chat request vs direct evaluation, tiny model -------
async function chatTtft() {
  const n = await import("node-llama-cpp");
  const { writeTinyModel } = await import("../scripts/tiny-gguf/make-tiny-model");
  const { LocalPool } = await import("../server/inference/local-pool");
  const { loadLlama } = await import("../server/inference/llama-runtime");
  const file = writeTinyModel(path.join(dir, "tiny.gguf")).path;
  const content = "Hi there, how are you today?";
  const pool = new LocalPool();
  for (const template of ["auto", "chatml", "jinjaTemplate"]) {
    await pool.register({ name: template, path: file, kind: "chat", contextSize: 512, parallel: 1, threads: 1, chatTemplate: template });
    await pool.load(template);
  }
  const { llama } = await loadLlama(n.getLlama, { gpu: false, logLevel: n.LlamaLogLevel.error, maxThreads: 1 });
  const model = await llama.loadModel({ modelPath: file });
  const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
  const wrapper = new n.ChatMLChatWrapper();
  const history = [{ type: "user" as const, text: content }];

  const viaEvaluate = async () => {
    const seq = ctx.getSequence();
    const t0 = performance.now();
    const tokens = wrapper.generateContextState({ chatHistory: [...history, { type: "model", response: [] }] }).contextText.tokenize(model.tokenizer);
    let first = 0;
    for await (const token of seq.evaluate(tokens, { temperature: 0 })) {
      model.detokenize([token]);
      first = performance.now() - t0;
      break;
    }
    seq.dispose();
    await new Promise((r) => setImmediate(r));
    return first;
  };
  const viaPool = (name: string) => async () => {
    const t0 = performance.now();
    let first = 0;
    const req = { mode: "chat" as const, messages: [{ role: "user" as const, content }], maxTokens: 8, temperature: 0, tenantId: "bench" };
    for await (const ev of pool.generate(name, req, new AbortController().signal)) if (ev.type === "delta" && !first) first = performance.now() - t0;
    return first;
  };
  const sides: [string, () => Promise<number>][] = [
    ["direct: wrapper text → tokenize → sequence.evaluate", viaEvaluate],
    ["LocalPool chat, chatTemplate chatml", viaPool("chatml")],
    ["LocalPool chat, chatTemplate auto", viaPool("auto")],
    ["LocalPool chat, chatTemplate jinjaTemplate", viaPool("jinjaTemplate")],
  ];
  const times = new Map<string, number[]>(sides.map(([k]) => [k, []]));
  for (let r = 0; r < ROUNDS + 5; r++) {
    for (const [k, fn] of sides) {
      const t = await fn();
      if (r >= 5) times.get(k)!.push(t); // first rounds warm up
    }
  }
  console.log(`auto resolves to ${n.resolveChatWrapper(model)?.constructor.name}`);
  for (const [k, v] of times) console.log(`${k.padEnd(56)} median TTFT ${median(v).toFixed(2)} ms`);
  await pool.close();
}

if (values.target === "chat-ttft") {
  await chatTtft();
  process.exit(0);
}

const file = values.target === "url" ? "" : await benchModelFile();
if (values.serve) {
  await serve(file);
  await new Promise(() => {}); // until the parent closes stdin
}
console.log(`target ${values.target}, ${TOKENS} tokens/request, ${THREADS} thread(s), ${ROUNDS} rounds${file ? `, model ${file}` : ""}`);
let result;
if (values.target === "direct") result = await direct(file);
else if (values.target === "api") result = await api();
else if (values.target === "url") {
  if (!values["base-url"]) throw new Error("--base-url is required with --target url");
  const one = streamer(values["base-url"].replace(/\/$/, ""), values["api-key"]!, values.model ?? "default");
  await one();
  result = await measure(one);
} else throw new Error(`unknown --target ${values.target}`);
if (!result) process.exit(0);
console.log(JSON.stringify(result));
console.log(
  `TTFT ${result.ttftMs.toFixed(1)} ms | 1 stream ${result.decodeTps.toFixed(1)} t/s | ${STREAMS} streams ${result.aggregateTps.toFixed(1)} t/s aggregate` +
    (values.target === "url" && !serverPid
      ? ""
      : ` | per CPU-second: 1 stream ${result.singleTokensPerCpuSecond.toFixed(1)}, ${STREAMS} streams ${result.aggregateTokensPerCpuSecond.toFixed(1)} tokens`),
);
process.exit(0);
