/**
 * Multi-turn conversations (issue 16): time to first token per turn and aggregate tokens/s
 * of chat conversations that resend their whole history every turn — a long system prompt
 * (with tool schemas written into it, as agents send them) and `--turns` user turns of
 * ~100 tokens, `--tokens` generated per turn — through our /api/v1 (a server process of its
 * own) side by side with another OpenAI-compatible server (llama-server, `cache_prompt` on)
 * in alternating rounds: 1 conversation, then `--streams` concurrent conversations from 2
 * tenants. `--reuse-off` also runs one conversation on our side with LOCAL_PROMPT_CACHE=off
 * (after the first round's paired passes only: without reuse every turn re-evaluates the
 * whole history). Each pass prints as it finishes, the summary at the end.
 *
 *   npx tsx bench/conversation.ts --against http://127.0.0.1:8089/v1 [--rounds 3] [--turns 8] [--tokens 64] [--threads 1]
 *                                 [--model-file .tmp/bench/bench-….gguf] [--engine native|prebuilt] [--reuse-off]
 *
 * Numbers, not assertions: see docs/benchmarks.md.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { announce, engineBinary, spawnBenchServer, startBenchServer } from "./serve";

const { values } = parseArgs({
  options: {
    against: { type: "string" },
    "against-model": { type: "string", default: "bench" },
    "model-file": { type: "string" },
    engine: { type: "string", default: "native" },
    rounds: { type: "string", default: "3" },
    turns: { type: "string", default: "8" },
    tokens: { type: "string", default: "64" },
    threads: { type: "string", default: "1" },
    streams: { type: "string", default: "4" },
    "system-chars": { type: "string", default: "1350" },
    "turn-chars": { type: "string", default: "100" },
    "reuse-off": { type: "boolean", default: false },
    serve: { type: "boolean", default: false },
    cache: { type: "string", default: "tenant" },
  },
});
const ROUNDS = Number(values.rounds);
const TURNS = Number(values.turns);
const TOKENS = Number(values.tokens);
const THREADS = Number(values.threads);
const STREAMS = Number(values.streams);
const CONTEXT = 4096;

const dir = mkdtempSync(path.join(tmpdir(), "switchyard-conversation-bench-"));
if (values.engine === "prebuilt") process.env.SWITCHYARD_ENGINE_DIR = path.join(dir, "no-native-build");
process.env.LLAMA_THREADS = String(THREADS);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const words = "the gateway routes each request to a model and keeps the conversation state close to the engine so that every new turn".split(" ");
function text(chars: number, seed: number): string {
  let s = "";
  for (let i = seed; s.length < chars; i++) s += `${words[(i * 7 + seed) % words.length]} `;
  return s.trim();
}
const TOOLS = JSON.stringify([
  { name: "search_docs", description: "Search the documentation", parameters: { type: "object", properties: { query: { type: "string" }, limit: { type: "integer" } }, required: ["query"] } },
  { name: "run_sql", description: "Run a read-only SQL query", parameters: { type: "object", properties: { sql: { type: "string" } }, required: ["sql"] } },
]);
const SYSTEM = `You are an agent with tools. Tools: ${TOOLS}\n${text(Number(values["system-chars"]), 1)}`;

async function benchModelFile(): Promise<string> {
  if (values["model-file"]) return path.resolve(values["model-file"]);
  const { BENCH_MODEL_DEFAULT, writeBenchModel } = await import("../scripts/tiny-gguf/make-bench-model");
  return (await writeBenchModel(path.resolve(".tmp/bench"), BENCH_MODEL_DEFAULT)).path;
}

interface Target {
  url: string;
  keys: string[];
  model: string;
}

interface Turn {
  ttftMs: number;
  tokens: number;
  promptTokens: number;
  cachedTokens: number | null;
}

/** One streamed chat turn; the reply text becomes the assistant message of the next turn. */
async function turn(t: Target, key: string, messages: { role: string; content: string }[]): Promise<Turn & { text: string }> {
  const started = performance.now();
  const res = await fetch(`${t.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: t.model,
      messages,
      max_tokens: TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      cache_prompt: true, // llama-server's prompt cache (its default); ignored by ours
    }),
  });
  if (!res.ok || !res.body) throw new Error(`${t.url}: ${res.status} ${await res.text()}`);
  let ttftMs = -1;
  let out = "";
  let chunks = 0;
  let usage: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | null = null;
  let buf = "";
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const j = JSON.parse(line.slice(6));
      const delta = j.choices?.[0]?.delta?.content;
      if (delta) {
        if (ttftMs < 0) ttftMs = performance.now() - started;
        out += delta;
        chunks++;
      }
      if (j.usage) usage = j.usage;
    }
  }
  return {
    ttftMs,
    text: out,
    tokens: usage?.completion_tokens ?? chunks,
    promptTokens: usage?.prompt_tokens ?? 0,
    cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? null,
  };
}

/** A whole conversation: TURNS turns, each resending the history. */
async function conversation(t: Target, key: string, seed: number): Promise<Turn[]> {
  const messages = [{ role: "system", content: SYSTEM }];
  const turns: Turn[] = [];
  for (let n = 0; n < TURNS; n++) {
    messages.push({ role: "user", content: `Conversation ${seed}, turn ${n + 1}: ${text(Number(values["turn-chars"]), seed * 31 + n)}` });
    const r = await turn(t, key, messages);
    turns.push(r);
    messages.push({ role: "assistant", content: r.text });
  }
  return turns;
}

interface Pass {
  /** per turn, the median over the conversations of the pass */
  ttft: number[];
  tps: number;
  promptTokens: number[];
  cached: (number | null)[];
}

async function pass(t: Target, streams: number, round: number): Promise<Pass> {
  const started = performance.now();
  // conversations alternate between the two tenants' keys; seeds differ per round so no round reuses another's cache
  const all = await Promise.all(Array.from({ length: streams }, (_, c) => conversation(t, t.keys[c % t.keys.length]!, round * 100 + c)));
  const seconds = (performance.now() - started) / 1000;
  const tokens = all.flat().reduce((n, x) => n + x.tokens, 0);
  return {
    ttft: Array.from({ length: TURNS }, (_, n) => median(all.map((c) => c[n]!.ttftMs))),
    tps: tokens / seconds,
    promptTokens: all[0]!.map((x) => x.promptTokens),
    cached: all[0]!.map((x) => x.cachedTokens),
  };
}

// ---- our server, in a process of its own (as under `next start`) --------------------------

async function serve(file: string) {
  const server = await startBenchServer({
    dir,
    tenants: ["bench-a", "bench-b"].map((slug) => ({ slug, name: slug })),
    model: { source: file, contextSize: CONTEXT, parallel: STREAMS, threads: THREADS },
    env: { LOCAL_PROMPT_CACHE: values.cache },
  });
  const target = { url: server.url, keys: server.keys, model: "bench" };
  await turn(target, server.keys[0]!, [{ role: "user", content: "warm up" }]); // loads the model
  announce({ ...target, binary: await engineBinary() }, server);
}

async function startOurs(cache: string): Promise<{ target: Target; binary: string; stop: () => void }> {
  const { ready, stop } = await spawnBenchServer<Target & { binary: string }>(["--cache", cache]);
  return { target: ready, binary: ready.binary, stop };
}

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");

async function main() {
  const file = await benchModelFile();
  if (values.serve) return serve(file);
  const ours = await startOurs(values.cache);
  const off = values["reuse-off"] ? await startOurs("off") : null;
  console.log(`model: ${path.basename(file)}; threads ${THREADS}; ${TURNS} turns × ${TOKENS} tokens; ours: ${ours.binary}`);
  const theirs: Target | null = values.against ? { url: values.against, keys: ["none"], model: values["against-model"] } : null;
  if (theirs) await turn(theirs, "none", [{ role: "user", content: "warm up" }]);
  const rows: Record<string, Pass[]> = {};
  // printed as passes finish: a long run on a loaded box still leaves its numbers behind
  const add = (k: string, p: Pass) => {
    (rows[k] ??= []).push(p);
    console.log(`${k} round ${rows[k].length}: TTFT ms ${fmt(p.ttft)}; ${p.tps.toFixed(2)} t/s; prompt tokens ${p.promptTokens.join(" ")}; cached ${p.cached.join(" ")}`);
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const streams of [1, STREAMS]) {
      // the side that goes first alternates, so drift on a shared box hits both sides alike
      const order = r % 2 === 0 ? (["ours", "theirs"] as const) : (["theirs", "ours"] as const);
      for (const side of order) {
        if (side === "ours") add(`ours/${streams}`, await pass(ours.target, streams, r * 10 + streams));
        else if (theirs) add(`theirs/${streams}`, await pass(theirs, streams, r * 10 + streams));
      }
    }
    // reuse off re-evaluates every history: one conversation, first round only, keeps the run short
    if (off && r === 0) add("off/1", await pass(off.target, 1, 5));
  }
  ours.stop();
  off?.stop();
  const perTurn = (ps: Pass[]) => Array.from({ length: TURNS }, (_, n) => median(ps.map((p) => p.ttft[n]!)));
  for (const streams of [1, STREAMS]) {
    const o = rows[`ours/${streams}`]!;
    const po = perTurn(o);
    console.log(`\n== ${streams} conversation${streams > 1 ? "s (2 tenants)" : ""}, medians of ${o.length} round(s) ==`);
    console.log(`ours TTFT ms per turn:        ${fmt(po)}`);
    console.log(`ours turn n / turn 1:         ${po.map((x) => (x / po[0]!).toFixed(2)).join(" ")}`);
    console.log(`ours aggregate t/s:           ${median(o.map((p) => p.tps)).toFixed(2)}`);
    const t = rows[`theirs/${streams}`];
    if (t) {
      // per-round ratios, then their median (paired: each round ran both back to back)
      const ttftRatio = Array.from({ length: TURNS }, (_, n) => median(o.map((p, i) => p.ttft[n]! / t[i]!.ttft[n]!)));
      console.log(`theirs TTFT ms per turn:      ${fmt(perTurn(t))}`);
      console.log(`TTFT ours/theirs per turn:    ${ttftRatio.map((x) => x.toFixed(2)).join(" ")}`);
      console.log(`theirs aggregate t/s:         ${median(t.map((p) => p.tps)).toFixed(2)}; ours/theirs ${median(o.map((p, i) => p.tps / t[i]!.tps)).toFixed(2)}`);
    }
    const f = rows[`off/${streams}`];
    if (f) {
      const pf = perTurn(f);
      console.log(`reuse off TTFT ms per turn:   ${fmt(pf)}`);
      console.log(`reuse on/off TTFT per turn:   ${po.map((x, n) => (x / pf[n]!).toFixed(2)).join(" ")}; reuse off aggregate t/s ${median(f.map((p) => p.tps)).toFixed(2)}`);
    }
  }
  process.exit(0);
}

await main();
