/**
 * Limits through /api/v1 over real HTTP, real database, real llama.cpp (the tiny
 * scripted model), with the in-process limiter (no REDIS_URL): the RPM burst, TPM
 * settled with real counts (finished and cancelled), the concurrency cap under
 * parallel streams, the monthly budget stopping at its threshold (and seeded from
 * the rollups), and the x-ratelimit-* headers. No timing assertions: a burst is
 * far shorter than the 60 s window, and everything else is counted.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { writeTinyModel } from "../../scripts/tiny-gguf/make-tiny-model";
import { db } from "../db/client";
import { localPool } from "../inference/engine";
import { newId } from "../lib/ids";
import { clearApiKeyCache } from "../auth/verify-api-key";
import { createApiKey } from "../services/api-keys/api-keys";
import { CLI_ACTOR } from "../services/audit/audit";
import { setKeyLimits, setTenantLimits } from "../services/limits/limits";
import { addModel } from "../services/models/models";
import { usageWriter } from "../services/usage/usage-writer";
import { mintAccessToken } from "../auth/access-token";
import { addMemberTo, makeTenant, uniq } from "../test/fixtures";
import { startV1Server } from "../test/v1-server";
import { Limiter, limiter, monthStartUtc } from "./limiter";

let server: { url: string; close: () => Promise<void> };
const MODEL = `tiny-limits-${uniq()}`;

beforeAll(async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "switchyard-limits-")), "tiny.gguf");
  writeTinyModel(file);
  await addModel(db(), CLI_ACTOR, { name: MODEL, source: file, kind: "chat", contextSize: 4096, parallel: 4, threads: 1 });
  server = await startV1Server();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

async function keyWith(limits: Parameters<typeof setKeyLimits>[3] extends infer T ? Omit<T & object, "keyId"> : never, tenantId?: string) {
  const tenant = tenantId ? { id: tenantId } : await makeTenant();
  const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
  await setKeyLimits(db(), CLI_ACTOR, tenant.id, { keyId: apiKey.id, ...limits });
  clearApiKeyCache();
  return { key, keyId: apiKey.id, tenantId: tenant.id };
}

const get = (key: string, p = "models") => fetch(`${server.url}/api/v1/${p}`, { headers: { authorization: `Bearer ${key}` } });
const post = (key: string, p: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${server.url}/api/v1/${p}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });

/** Runs `n` calls with at most `width` in flight. */
async function burst<T>(n: number, width: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await call(i);
      }
    }),
  );
  return out;
}

describe("requests per minute", () => {
  it("a burst of 1,000 against RPM 100 admits 100 (at most 101), and every answer carries x-ratelimit-*", async () => {
    const { key } = await keyWith({ rpm: 100 });
    const results = await burst(1000, 50, async () => {
      const res = await get(key);
      const body = (await res.json()) as { error?: { type: string; code: string } };
      return { status: res.status, headers: res.headers, body };
    });
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok.length).toBeGreaterThanOrEqual(100);
    expect(ok.length).toBeLessThanOrEqual(101);
    expect(ok.length + limited.length).toBe(1000);
    for (const r of [...ok, ...limited]) {
      expect(r.headers.get("x-ratelimit-limit-requests")).toBe("100");
      expect(Number(r.headers.get("x-ratelimit-remaining-requests"))).toBeGreaterThanOrEqual(0);
      expect(r.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(\.\d)?(ms|s)$|^\d+m\d+s$/);
    }
    const l = limited[0]!;
    expect(l.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(Number(l.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(l.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(l.headers.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("a tenant limit is shared by all of its keys; the tightest one is reported", async () => {
    const tenant = await makeTenant();
    await setTenantLimits(db(), CLI_ACTOR, tenant.id, { rpm: 6 });
    const a = await keyWith({ rpm: 100 }, tenant.id);
    const b = await keyWith({}, tenant.id);
    const statuses = await burst(20, 4, async (i) => (await get(i % 2 ? a.key : b.key)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    const res = await get(a.key);
    expect(res.headers.get("x-ratelimit-limit-requests")).toBe("6");
  });

  it("console access tokens (the playground) are held to their tenant's limits", async () => {
    const tenant = await makeTenant();
    await setTenantLimits(db(), CLI_ACTOR, tenant.id, { rpm: 2 });
    const { user } = await addMemberTo(tenant.id, "member");
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(token)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe("tokens per minute", () => {
  it("reserves an estimate and settles to the real count, for finished and cancelled requests", async () => {
    const { key, keyId, tenantId } = await keyWith({ tpm: 100_000 });
    const tpmKey = Limiter.key(tenantId, "tpm", "key", keyId);

    const res = await post(key, "chat/completions", { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 500 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ratelimit-limit-tokens")).toBe("100000");
    // while admitted, the reservation (prompt estimate + max_tokens) was charged
    expect(Number(res.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThanOrEqual(100_000 - 500);
    const body = (await res.json()) as { usage: { total_tokens: number } };
    await limiter().idle();
    expect(await limiter().store.windowUsage(tpmKey)).toBe(body.usage.total_tokens);

    // a stream cancelled after a few tokens pays for the tokens it produced, not for max_tokens
    const abort = new AbortController();
    const stream = await post(key, "completions", { model: MODEL, prompt: "Once upon a time", max_tokens: 4000, stream: true }, abort.signal);
    expect(stream.status).toBe(200);
    const requestId = stream.headers.get("x-request-id")!;
    const reader = stream.body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    abort.abort();
    const row = await vi.waitFor(
      async () => {
        await usageWriter().flush();
        const r = await db().requestLog.findFirst({ where: { tenantId, requestId } });
        if (!r) throw new Error("no usage row yet");
        return r;
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(row.status).toBe("cancelled");
    expect(row.completionTokens).toBeGreaterThan(0);
    expect(row.completionTokens).toBeLessThan(5000);
    await limiter().idle();
    expect(await limiter().store.windowUsage(tpmKey)).toBe(body.usage.total_tokens + row.promptTokens + row.completionTokens);
  });

  it("refuses a request whose reservation does not fit, naming the limit", async () => {
    const { key } = await keyWith({ tpm: 300 });
    const first = await post(key, "chat/completions", { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 250 });
    expect(first.status).toBe(200);
    await first.json();
    await limiter().idle();
    const second = await post(key, "chat/completions", { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 290 });
    expect(second.status).toBe(429);
    const err = (await second.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe("rate_limit_exceeded");
    expect(err.error.message).toContain("tokens per minute");
    expect(second.headers.get("x-ratelimit-limit-tokens")).toBe("300");
  });
});

describe("concurrency", () => {
  it("holds the cap under parallel streams and frees a slot when a stream ends", async () => {
    const { key } = await keyWith({ maxConcurrent: 2 });
    const aborts: AbortController[] = [];
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => {
        const a = new AbortController();
        aborts.push(a);
        return post(key, "completions", { model: MODEL, prompt: "Once upon a time", max_tokens: 4000, stream: true }, a.signal);
      }),
    );
    const running = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(running).toHaveLength(2);
    expect(refused).toHaveLength(4);
    const err = (await refused[0]!.json()) as { error: { code: string } };
    expect(err.error.code).toBe("concurrency_limit_exceeded");
    expect(refused[0]!.headers.get("retry-after")).toBe("1");
    // both streams are really generating
    for (const r of running) expect((await r.body!.getReader().read()).done).toBe(false);

    // stop everything; then a new request gets in
    for (const a of aborts) a.abort();
    await vi.waitFor(
      async () => {
        const r = await get(key);
        await r.body?.cancel();
        if (r.status !== 200) throw new Error(`still ${r.status}`);
      },
      { timeout: 20_000, interval: 50 },
    );
  });
});

describe("monthly token budget", () => {
  it("warns past the threshold and stops once the budget is used up", async () => {
    const tenant = await makeTenant();
    await setTenantLimits(db(), CLI_ACTOR, tenant.id, { monthlyTokenBudget: 150, budgetWarnPercent: 50 });
    const { key } = await keyWith({}, tenant.id);
    let used = 0;
    const admittedAt: number[] = [];
    let refusal: Response | null = null;
    for (let i = 0; i < 30 && !refusal; i++) {
      const res = await post(key, "chat/completions", { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 20 });
      if (res.status === 429) {
        refusal = res;
        break;
      }
      expect(res.status).toBe(200);
      const warning = res.headers.get("x-switchyard-budget-warning");
      expect(warning !== null).toBe(used >= 75);
      admittedAt.push(used);
      used += ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
      await limiter().idle();
    }
    expect(refusal).not.toBeNull();
    // every admitted request started under the budget; the refusal came once it was used up
    expect(Math.max(...admittedAt)).toBeLessThan(150);
    expect(used).toBeGreaterThanOrEqual(150);
    const err = (await refusal!.json()) as { error: { code: string; type: string } };
    expect(err.error).toMatchObject({ code: "budget_exceeded", type: "rate_limit_error" });
    expect(Number(refusal!.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("starts from this month's usage in the rollups", async () => {
    const tenant = await makeTenant();
    const { key, keyId } = await keyWith({ monthlyTokenBudget: 1000 }, tenant.id);
    const hour = new Date(Math.max(monthStartUtc(Date.now()).getTime(), Date.now() - 3_600_000));
    hour.setUTCMinutes(0, 0, 0);
    await db().usageRollup.create({
      data: { id: newId("rol"), tenantId: tenant.id, apiKeyId: keyId, model: MODEL, hour, requests: 3, promptTokens: 600, completionTokens: 400 },
    });
    const res = await get(key);
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("budget_exceeded");
  });
});
