/**
 * Aliases through /api/v1 over real HTTP: remote backends are fake OpenAI-compatible
 * servers on loopback (the world's edge), local targets are real llama.cpp on the
 * scripted tiny model. Pass-through (stream and not), our own ids and token counts,
 * fallback before the first token (500, timeout, connection refused), none after it,
 * the circuit breaker and its reset, difficulty routing, /models, and the usage row.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TINY_MODEL, writeTinyModel } from "../../../scripts/tiny-gguf/make-tiny-model";
import { configChanged } from "../../services/routing/config-cache";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../../services/audit/audit");
const { addModel } = await import("../../services/models/models");
const { createApiKey } = await import("../../services/api-keys/api-keys");
const { createBackend, checkBackend, setBackendAccess, backendsForTenant } = await import("../../services/backends/backends");
const { createPolicy } = await import("../../services/routing/policies");
const { recalibratePolicy } = await import("../../services/routing/calibration");
const { usageWriter } = await import("../../services/usage/usage-writer");
const { localPool } = await import("../../inference/engine");
const { difficultyScore, featuresOf } = await import("../../routing/difficulty");
const { makeTenant, uniq } = await import("../../test/fixtures");
const { startV1Server } = await import("../../test/v1-server");
const { DEFAULT_TOKENS, startFakeUpstream } = await import("../../test/fake-upstream");
const { inFlight } = await import("../../routing/in-flight");

type Fake = Awaited<ReturnType<typeof startFakeUpstream>>;

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string };
let key: string;
const fakes: Fake[] = [];
const TINY = `tiny-route-${uniq()}`;

async function fake(models = ["up-model"]) {
  const f = await startFakeUpstream({ models });
  fakes.push(f);
  return f;
}

async function backendAt(url: string, opts: { credential?: string; connectTimeoutMs?: number; firstTokenTimeoutMs?: number; public?: boolean } = {}) {
  // public: these tests are about routing, not about who may use a backend (see "backend access")
  return createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: url, discover: false, models: ["up-model"], public: true, ...opts });
}

async function alias(strategy: "single" | "fallback" | "difficulty" | "least_busy" | "weighted", targets: object[], extra: object = {}) {
  return createPolicy(db(), CLI_ACTOR, tenant.id, { alias: `a-${uniq()}`, strategy, targets: targets as never, ...extra });
}

const onBackend = (b: { id: string }) => ({ type: "backend", backendId: b.id, model: "up-model" });
const local = { type: "model", model: "" };

function post(p: string, body: unknown, k = key) {
  return fetch(`${server.url}/api/v1/${p}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${k}` },
    body: JSON.stringify(body),
  });
}

async function sse(res: Response) {
  const text = await res.text();
  const events: Record<string, unknown>[] = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    const line = block.trim();
    if (!line) continue;
    const data = line.slice(6);
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { events, done };
}

async function logRow(res: Response) {
  await usageWriter().flush();
  return db().requestLog.findFirstOrThrow({ where: { tenantId: tenant.id, requestId: res.headers.get("x-request-id")! } });
}

const chat = (model: string, extra: object = {}) => ({ model, messages: [{ role: "user", content: "Hi" }], ...extra });

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "switchyard-routing-"));
  const file = path.join(dir, "tiny.gguf");
  writeTinyModel(file);
  await addModel(db(), CLI_ACTOR, { name: TINY, source: file, kind: "chat", contextSize: 512, parallel: 2, threads: 1 });
  local.model = TINY;
  tenant = await makeTenant();
  key = (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k" })).key;
  server = await startV1Server();
}, 120_000);

afterAll(async () => {
  await server?.close();
  for (const f of fakes) await f.close();
  await localPool().close();
});

describe("a remote backend behind an alias", () => {
  it("non-stream: upstream's text under our id and the alias name; upstream usage; the usage row names policy, backend, reason", async () => {
    const f = await fake();
    const b = await backendAt(f.url, { credential: "sk-upstream-secret" });
    const p = await alias("single", [onBackend(b)]);
    const res = await post("chat/completions", chat(p.alias, { max_tokens: 20 }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; model: string; choices: { message: { content: string } }[]; usage: Record<string, number> };
    expect(body.choices[0]!.message.content).toBe(DEFAULT_TOKENS.join(""));
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.id).not.toContain("upstream");
    expect(body.model).toBe(p.alias);
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
    // the credential reaches upstream as a bearer token, and upstream got the backend's model id
    expect(f.requests.at(-1)).toMatchObject({ path: "/chat/completions", authorization: "Bearer sk-upstream-secret", body: { model: "up-model", max_tokens: 20 } });
    expect(await logRow(res)).toMatchObject({
      modelRequested: p.alias,
      modelUsed: `${b.name}/up-model`,
      backendId: b.id,
      policyId: p.id,
      routeReason: "single: single target",
      attempts: null,
      status: "ok",
      promptTokens: 7,
      completionTokens: 4,
    });
  });

  it("stream: upstream's SSE re-emitted as our chunks, [DONE], usage when asked", async () => {
    const f = await fake();
    const p = await alias("single", [onBackend(await backendAt(f.url))]);
    const res = await post("chat/completions", chat(p.alias, { stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { events, done } = await sse(res);
    expect(done).toBe(true);
    const ids = new Set(events.map((e) => e.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-/);
    const content = events.flatMap((e) => (e.choices as { delta: { content?: string } }[]).map((c) => c.delta.content ?? "")).join("");
    expect(content).toBe(DEFAULT_TOKENS.join(""));
    expect(events.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 4 } });
    expect(await logRow(res)).toMatchObject({ stream: true, status: "ok", completionTokens: 4, policyId: p.id });
  });

  it("counts tokens itself when upstream sends no usage: a chunk a token when streamed, characters/4 when whole", async () => {
    const f = await fake();
    f.behave({ kind: "reply", tokens: ["a", "b", "c", "d", "e", "fghijkl"], usage: false });
    const p = await alias("single", [onBackend(await backendAt(f.url))]);
    const res = await post("chat/completions", chat(p.alias));
    const body = (await res.json()) as { usage: Record<string, number> };
    expect(f.requests.at(-1)!.body.stream).toBeUndefined(); // asked for whole, not streamed and re-assembled
    // the gateway's own time and the engine's, for users to check the overhead in production
    expect(res.headers.get("x-switchyard-overhead-ms")).toMatch(/^\d+\.\d\d$/);
    expect(res.headers.get("server-timing")).toMatch(/^gateway;dur=\d+\.\d\d, engine;dur=\d+\.\d\d$/);
    expect(body.usage.completion_tokens).toBe(3); // "abcdefghijkl": 12 characters
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect((await logRow(res)).completionTokens).toBe(3);
    const streamed = await post("chat/completions", { ...chat(p.alias), stream: true });
    await streamed.text();
    expect(f.requests.at(-1)!.body.stream).toBe(true);
    expect((await logRow(streamed)).completionTokens).toBe(6);
  });

  it("legacy completions and embeddings go through the alias too", async () => {
    const f = await fake();
    const p = await alias("single", [onBackend(await backendAt(f.url))]);
    const c = (await (await post("completions", { model: p.alias, prompt: "Once" })).json()) as { choices: { text: string }[] };
    expect(c.choices[0]!.text).toBe(DEFAULT_TOKENS.join(""));
    const res = await post("embeddings", { model: p.alias, input: ["ab", "abcd"] });
    expect(res.status).toBe(200);
    const e = (await res.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    expect(e.data.map((d) => d.embedding[0])).toEqual([2, 4]);
    expect(e.usage.prompt_tokens).toBe(6);
  });

  it("an upstream 400 is the caller's error, not a reason to fall back", async () => {
    const bad = await fake();
    bad.behave({ kind: "status", status: 400, message: "context too long" });
    const good = await fake();
    const p = await alias("fallback", [onBackend(await backendAt(bad.url)), onBackend(await backendAt(good.url))]);
    const res = await post("chat/completions", chat(p.alias));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.message).toContain("context too long");
    expect(body.error.code).toBe("backend_rejected_request");
    expect(good.requests).toHaveLength(0);
  });

  it("an upstream's context-length error comes back as 400 context_length_exceeded, like a local model's", async () => {
    const up = await fake();
    const p = await alias("single", [onBackend(await backendAt(up.url))]);
    for (const message of [
      "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
      "the request exceeds the available context size, try increasing it",
    ]) {
      up.behave({ kind: "status", status: 400, message });
      const res = await post("chat/completions", chat(p.alias));
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { message: string; code: string } };
      expect(body.error.code).toBe("context_length_exceeded");
      expect(body.error.message).toContain(message);
    }
  });
});

describe("fallback before the first token, never after", () => {
  it("on a 500: the next target serves; both attempts are in the usage row; the failed backend is marked unhealthy", async () => {
    const broken = await fake();
    broken.behave({ kind: "status", status: 500 });
    const good = await fake();
    const b1 = await backendAt(broken.url);
    const b2 = await backendAt(good.url);
    const p = await alias("fallback", [onBackend(b1), onBackend(b2)]);
    const res = await post("chat/completions", chat(p.alias, { stream: true }));
    const { events, done } = await sse(res);
    expect(done).toBe(true);
    expect(events.some((e) => "error" in e)).toBe(false);
    const row = await logRow(res);
    expect(row).toMatchObject({ status: "ok", backendId: b2.id, modelUsed: `${b2.name}/up-model` });
    expect(JSON.parse(row.attempts!)).toEqual([
      { target: `backend:${b1.id}/up-model`, ok: false, error: "backend_error" },
      { target: `backend:${b2.id}/up-model`, ok: true },
    ]);
    expect((await db().backend.findUniqueOrThrow({ where: { id: b1.id } })).health).toBe("unhealthy");
  });

  it("on a timeout (no answer, then no first token): the next target serves", async () => {
    const hung = await fake();
    hung.behave({ kind: "hang" });
    const silent = await fake();
    silent.behave({ kind: "hang-after-headers" });
    const good = await fake();
    const p = await alias("fallback", [
      onBackend(await backendAt(hung.url, { connectTimeoutMs: 300 })),
      onBackend(await backendAt(silent.url, { firstTokenTimeoutMs: 300 })),
      onBackend(await backendAt(good.url)),
    ]);
    const res = await post("chat/completions", chat(p.alias));
    expect(res.status).toBe(200);
    const row = await logRow(res);
    expect(JSON.parse(row.attempts!).map((a: { error?: string }) => a.error ?? "ok")).toEqual(["backend_timeout", "backend_timeout", "ok"]);
  });

  it("on connection refused: a local llama.cpp model serves", async () => {
    const gone = await fake();
    const url = gone.url;
    await gone.close();
    const b = await backendAt(url);
    const p = await alias("fallback", [onBackend(b), local]);
    const res = await post("chat/completions", chat(p.alias));
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
    const row = await logRow(res);
    expect(row).toMatchObject({ modelUsed: TINY, backendId: null, policyId: p.id });
    expect(JSON.parse(row.attempts!)[0]).toMatchObject({ ok: false, error: "backend_unreachable" });
  });

  it("not after the first token: the stream ends with one error event and the next target is never called", async () => {
    const dying = await fake();
    dying.behave({ kind: "die-after", tokens: ["Half", " an"] });
    const good = await fake();
    const p = await alias("fallback", [onBackend(await backendAt(dying.url)), onBackend(await backendAt(good.url))]);
    const res = await post("chat/completions", chat(p.alias, { stream: true }));
    const { events, done } = await sse(res);
    expect(done).toBe(false);
    const text = events.flatMap((e) => ((e.choices as { delta: { content?: string } }[] | undefined) ?? []).map((c) => c.delta.content ?? "")).join("");
    expect(text).toBe("Half an");
    expect(events.at(-1)).toMatchObject({ error: { code: "backend_unreachable" } });
    expect(events.filter((e) => "error" in e)).toHaveLength(1);
    expect(good.requests).toHaveLength(0);
    expect(await logRow(res)).toMatchObject({ status: "error", completionTokens: 2 });
  });

  it("when every target fails: the last error, with every attempt logged", async () => {
    const a = await fake();
    a.behave({ kind: "status", status: 503 });
    const b = await fake();
    b.behave({ kind: "status", status: 429 });
    const p = await alias("fallback", [onBackend(await backendAt(a.url)), onBackend(await backendAt(b.url))]);
    const res = await post("chat/completions", chat(p.alias));
    expect(res.status).toBe(429);
    const row = await logRow(res);
    expect(JSON.parse(row.attempts!).map((x: { error: string }) => x.error)).toEqual(["backend_error", "backend_rate_limited"]);
  });
});

describe("least busy", () => {
  it("sends the next request to the idle target while one is busy, and back once it is free", async () => {
    const slow = await fake();
    slow.behave({ kind: "hang-after-headers" });
    const quick = await fake();
    const b1 = await backendAt(slow.url);
    const b2 = await backendAt(quick.url);
    const p = await alias("least_busy", [onBackend(b1), onBackend(b2)]);
    const k1 = `backend:${b1.id}/up-model`;

    // Both idle: the first in the list. It hangs, so it stays in flight.
    const abort = new AbortController();
    const pending = fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(chat(p.alias, { stream: true })),
      signal: abort.signal,
    }).then((r) => r.text()).catch(() => "aborted");
    await vi.waitFor(() => expect(inFlight.get(k1)).toBe(1));
    // in flight from the moment it is planned; the upstream sees it once its body has arrived
    await vi.waitFor(() => expect(slow.requests).toHaveLength(1));

    const second = await post("chat/completions", chat(p.alias));
    expect(second.status).toBe(200);
    const row = await logRow(second);
    expect(row.backendId).toBe(b2.id);
    expect(row.routeReason).toBe(`least_busy: in flight backend:${b2.id}/up-model=0, ${k1}=1`);
    expect(row.routeScore).toBeNull(); // only difficulty decisions have a score

    abort.abort();
    await pending;
    await vi.waitFor(() => expect(inFlight.get(k1)).toBe(0));
    slow.behave({ kind: "reply" });
    const third = await post("chat/completions", chat(p.alias));
    expect((await logRow(third)).backendId).toBe(b1.id);
  });
});

describe("circuit breaking", () => {
  it("an unhealthy backend is skipped until a health check succeeds, then used again", async () => {
    const flaky = await fake();
    const spare = await fake();
    const b1 = await backendAt(flaky.url);
    const b2 = await backendAt(spare.url);
    const p = await alias("fallback", [onBackend(b1), onBackend(b2)]);

    flaky.behave({ kind: "status", status: 502 });
    await (await post("chat/completions", chat(p.alias))).json();
    expect((await db().backend.findUniqueOrThrow({ where: { id: b1.id } })).health).toBe("unhealthy");

    // It works again, but nobody asks it until a check says so.
    flaky.behave({ kind: "reply" });
    const before = flaky.requests.length;
    const skipped = await post("chat/completions", chat(p.alias));
    expect(skipped.status).toBe(200);
    expect(flaky.requests.length).toBe(before);
    expect((await logRow(skipped)).routeReason).toContain(`skipped unhealthy backend:${b1.id}/up-model`);

    // A failing check keeps it open.
    flaky.modelsStatus(500);
    expect((await checkBackend(db(), CLI_ACTOR, b1.id)).health).toBe("unhealthy");
    flaky.modelsStatus(200);
    const checked = await checkBackend(db(), CLI_ACTOR, b1.id);
    expect(checked).toMatchObject({ health: "healthy", lastError: null });
    const back = await post("chat/completions", chat(p.alias));
    expect((await logRow(back)).backendId).toBe(b1.id);
    expect(flaky.requests.length).toBe(before + 1);
  });

  it("with every target unhealthy: 503 naming the alias, nothing called", async () => {
    const f = await fake();
    const b = await backendAt(f.url);
    const p = await alias("single", [onBackend(b)]);
    await db().backend.update({ where: { id: b.id }, data: { health: "unhealthy" } });
    await configChanged(); // as every writer does: replicas drop their routing cache
    const res = await post("chat/completions", chat(p.alias, { stream: true }));
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("no_healthy_target");
    expect(body.error.message).toContain(p.alias);
    expect(f.requests).toHaveLength(0);
  });
});

describe("difficulty routing end to end", () => {
  it("easy prompts go to the weak tier, hard ones to the strong tier, at thresholds calibrated on this tenant's history", async () => {
    const strong = await fake();
    const b = await backendAt(strong.url);
    const p = await alias("difficulty", [local, onBackend(b)], { strongShare: 0.25 });
    // History: 400 requests with scores spread over [0, 0.4) → the top 25 % start at 0.3.
    const now = Date.now();
    await db().requestLog.createMany({
      data: Array.from({ length: 400 }, (_, i) => ({
        id: `req_hist_${p.id}_${i}`,
        requestId: `hist-${i}`,
        tenantId: tenant.id,
        endpoint: "chat.completions",
        modelRequested: p.alias,
        policyId: p.id,
        routeReason: `difficulty: score=${((i / 400) * 0.4).toFixed(4)} → tier 1/2`,
        routeScore: Number(((i / 400) * 0.4).toFixed(4)),
        status: "ok" as const,
        httpStatus: 200,
        latencyMs: 5,
        createdAt: new Date(now - i * 1000),
      })),
    });
    const cal = await recalibratePolicy(db(), tenant.id, p.id);
    expect(cal!.samples).toBe(400);
    expect(cal!.thresholds[0]).toBeCloseTo(0.3, 2);

    const hardMessages = [
      { role: "user", content: "Explain why this recursion never ends and prove it terminates step by step:\n```\nfunction f(n) {\n  return n === 0 ? 0 : f(n - 1) + 1;\n}\n```" },
      { role: "assistant", content: "It terminates for n ≥ 0." },
      { role: "user", content: "Now compare with the integral ∫ x dx and the derivative of x^2 = 2x; analyze the trade-offs." },
    ];
    expect(difficultyScore(featuresOf({ messages: hardMessages as never }))).toBeGreaterThan(0.3);

    const easy = await post("chat/completions", chat(p.alias));
    expect(((await easy.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
    const easyRow = await logRow(easy);
    expect(easyRow).toMatchObject({ modelUsed: TINY, policyId: p.id });
    expect(easyRow.routeReason).toMatch(/^difficulty: score=0\.\d{4} < 0\.3\d* → tier 1\/2$/);
    // the usage row carries the score the router decided on, for the next calibration
    expect(easyRow.routeScore).toBe(Number(/score=([0-9.]+)/.exec(easyRow.routeReason!)![1]));

    const hard = await post("chat/completions", { model: p.alias, messages: hardMessages });
    expect(((await hard.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(DEFAULT_TOKENS.join(""));
    const hardRow = await logRow(hard);
    expect(hardRow).toMatchObject({ backendId: b.id });
    expect(hardRow.routeReason).toMatch(/→ tier 2\/2$/);
    expect(hardRow.routeScore).toBeGreaterThan(0.3);
  });
});

describe("/api/v1/models", () => {
  it("lists the tenant's aliases, within a key's allowlist", async () => {
    const f = await fake();
    const p = await alias("single", [onBackend(await backendAt(f.url))]);
    const all = (await (await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { id: string; owned_by: string }[] };
    expect(all.data).toContainEqual(expect.objectContaining({ id: p.alias, owned_by: "switchyard:alias" }));
    const one = await fetch(`${server.url}/api/v1/models/${p.alias}`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await one.json()) as { id: string }).id).toBe(p.alias);

    const limited = (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "limited", models: [TINY] })).key;
    const some = (await (await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${limited}` } })).json()) as { data: { id: string }[] };
    expect(some.data.map((m) => m.id)).not.toContain(p.alias);
    const refused = await post("chat/completions", chat(p.alias), limited);
    expect(refused.status).toBe(403);
  });

  it("another tenant's alias does not exist for this key", async () => {
    const other = await makeTenant();
    const theirs = await createPolicy(db(), CLI_ACTOR, other.id, { alias: `theirs-${uniq()}`, strategy: "single", targets: [{ type: "model", model: TINY }] });
    const res = await post("chat/completions", chat(theirs.alias));
    expect(res.status).toBe(404);
  });
});

describe("backend access: a backend is the platform's cost, so tenants route to it only when allowed", () => {
  it("private by default: not offered to a tenant, refused at save; granted: saved and served; revoked: skipped at request time", async () => {
    const f = await fake();
    const b = await backendAt(f.url, { public: false });
    expect((await backendsForTenant(db(), tenant.id)).map((x) => x.id)).not.toContain(b.id);
    await expect(alias("single", [onBackend(b)])).rejects.toMatchObject({ code: "target_not_allowed", param: "targets" });

    await setBackendAccess(db(), CLI_ACTOR, { id: b.id, public: false, tenantIds: [tenant.id] });
    expect((await backendsForTenant(db(), tenant.id)).map((x) => x.id)).toContain(b.id);
    const other = await makeTenant();
    expect((await backendsForTenant(db(), other.id)).map((x) => x.id)).not.toContain(b.id);
    const p = await alias("fallback", [onBackend(b), local]);
    const served = await post("chat/completions", chat(p.alias));
    expect(served.status).toBe(200);
    expect((await logRow(served)).backendId).toBe(b.id);

    // Taken away after the alias was saved: the target is unavailable, the next one serves, upstream is not called.
    await setBackendAccess(db(), CLI_ACTOR, { id: b.id, public: false, tenantIds: [] });
    const calls = f.requests.length;
    const after = await post("chat/completions", chat(p.alias));
    expect(after.status).toBe(200);
    expect((await after.json()).choices[0].message.content).toBe(TINY_MODEL.chatReply);
    expect(await logRow(after)).toMatchObject({ modelUsed: TINY, backendId: null });
    expect(f.requests.length).toBe(calls);

    // Public again: every tenant may use it.
    await setBackendAccess(db(), CLI_ACTOR, { id: b.id, public: true });
    expect((await backendsForTenant(db(), other.id)).map((x) => x.id)).toContain(b.id);
  });
});

describe("session affinity (affinity: session)", () => {
  it("keeps a conversation on one healthy backend, and moves it when that backend turns unhealthy", async () => {
    const f1 = await fake();
    const f2 = await fake();
    const b1 = await backendAt(f1.url);
    const b2 = await backendAt(f2.url);
    const p = await alias("weighted", [onBackend(b1), onBackend(b2)], { affinity: "session" });
    const send = (body: object, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
        body: JSON.stringify(body),
      });
    const byBackend = () => [f1.requests.length, f2.requests.length];

    // x-session-id: every request of the session on one backend, despite weighted's coin
    for (let i = 0; i < 8; i++) expect((await send(chat(p.alias), { "x-session-id": "session-1" })).status).toBe(200);
    const [n1, n2] = byBackend();
    expect([n1, n2].sort()).toEqual([0, 8]);
    const [sticky, other] = n1 === 8 ? [f1, f2] : [f2, f1];
    const stickyBackend = sticky === f1 ? b1 : b2;

    // without a header: the turns of one conversation (same system prompt and first message) stay together
    const conversation = [
      { role: "system", content: "You are terse." },
      { role: "user", content: `Plan a trip ${uniq()}` },
    ];
    const before = byBackend();
    const res1 = await send({ model: p.alias, messages: conversation });
    const res2 = await send({ model: p.alias, messages: [...conversation, { role: "assistant", content: "Where to?" }, { role: "user", content: "Rome" }] });
    expect((await logRow(res1)).backendId).toBe((await logRow(res2)).backendId);
    expect(byBackend().reduce((a, b) => a + b) - before.reduce((a, b) => a + b)).toBe(2);

    // the session's backend fails: the request falls back, the backend is circuit-broken, the session moves
    sticky.behave({ kind: "status", status: 500 });
    const moved = await send(chat(p.alias), { "x-session-id": "session-1" });
    expect(moved.status).toBe(200);
    expect((await db().backend.findUniqueOrThrow({ where: { id: stickyBackend.id } })).health).toBe("unhealthy");
    const otherBefore = other.requests.length;
    const stickyBefore = sticky.requests.length;
    for (let i = 0; i < 4; i++) expect((await send(chat(p.alias), { "x-session-id": "session-1" })).status).toBe(200);
    expect(other.requests.length - otherBefore).toBe(4);
    expect(sticky.requests.length - stickyBefore).toBe(0);
    expect((await logRow(moved)).routeReason).toMatch(/session affinity/);
  });

  it("passes prompt-cache fields through untouched and adds nothing ahead of the conversation", async () => {
    const f = await fake();
    const p = await alias("single", [onBackend(await backendAt(f.url))]);
    const messages = [
      { role: "system", content: [{ type: "text", text: "Long tool schemas…", cache_control: { type: "ephemeral" } }] },
      { role: "user", content: "Hi" },
    ];
    const res = await post("chat/completions", { model: p.alias, messages, cache_prompt: true, id_slot: 2, prompt_cache_key: "conv-42" });
    expect(res.status).toBe(200);
    const body = f.requests.at(-1)!.body;
    expect(body).toMatchObject({ cache_prompt: true, id_slot: 2, prompt_cache_key: "conv-42" });
    expect(body.messages).toEqual(messages);
  });
});
