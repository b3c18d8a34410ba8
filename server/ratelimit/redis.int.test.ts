/**
 * The Redis limiter: the Lua scripts against a real redis-server (started here on
 * loopback), two replicas of the /api/v1 server in their own processes sharing that
 * Redis and the run's database, and what happens when Redis is unreachable under
 * each fail mode.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "../db/client";
import { metrics } from "../metrics/metrics";
import { clearApiKeyCache } from "../auth/verify-api-key";
import { createApiKey } from "../services/api-keys/api-keys";
import { CLI_ACTOR } from "../services/audit/audit";
import { setKeyLimits } from "../services/limits/limits";
import { makeTenant, uniq } from "../test/fixtures";
import { type TestRedis, freePort, startRedis } from "../test/redis";
import { startV1Server, startV1ServerChild, stopV1ServerChild } from "../test/v1-server";
import { Limiter, setLimiter } from "./limiter";
import { RedisStore } from "./redis-store";
import type { Check } from "./store";

let redis: TestRedis;
const stores: RedisStore[] = [];
const silent = { warn: () => {}, error: () => {} };

function store(url = redis.url, timeoutMs = 500) {
  const s = new RedisStore({ url, timeoutMs, connectTimeoutMs: 2000 });
  stores.push(s);
  return s;
}

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await redis?.stop();
});

describe("the Lua scripts", () => {
  it("window: exactly the limit in a burst, all-or-nothing across checks, settled to the real count", async () => {
    const s = store();
    const k = `sy:{t-${uniq()}}`;
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => s.admit(`r${i}`, [{ type: "window", key: `${k}:rpm`, limit: 25, cost: 1 }], 1000)));
    expect(outcomes.filter((o) => o.kind === "done" && o.admitted)).toHaveLength(25);
    const refused = outcomes.find((o) => o.kind === "done" && !o.admitted)!;
    expect(refused.kind === "done" && refused.results[0]!.retryMs).toBeGreaterThan(0);

    const both: Check[] = [
      { type: "window", key: `${k}:a`, limit: 10, cost: 1 },
      { type: "window", key: `${k}:rpm`, limit: 25, cost: 1 },
    ];
    const o = await s.admit("x", both, 1000);
    expect(o.kind === "done" && o.failed).toBe(1);
    expect(await s.windowUsage(`${k}:a`)).toBe(0);

    const t = await s.admit("y", [{ type: "window", key: `${k}:tpm`, limit: 1000, cost: 400 }], 1000);
    expect(await s.windowUsage(`${k}:tpm`)).toBe(400);
    await s.settle("y", [{ type: "window", key: `${k}:tpm`, bucket: t.kind === "done" ? t.bucket : 0, reserved: 400, actual: 37 }]);
    expect(await s.windowUsage(`${k}:tpm`)).toBe(37);
  });

  it("leases cap concurrency, free on settle, and expire unless renewed", async () => {
    const s = store();
    const key = `sy:{t-${uniq()}}:concurrency`;
    const lease: Check = { type: "lease", key, limit: 2 };
    const admitted = async (id: string, ttl = 60_000) => {
      const o = await s.admit(id, [lease], ttl);
      return o.kind === "done" && o.admitted;
    };
    expect(await admitted("a")).toBe(true);
    expect(await admitted("b")).toBe(true);
    expect(await admitted("c")).toBe(false);
    await s.settle("a", [{ type: "lease", key }]);
    expect(await admitted("d")).toBe(true); // a's slot came free
    expect(await admitted("e")).toBe(false);
    // A lease nobody renews expires: b's slot goes to a 1 ms lease, which lapses.
    await s.settle("b", [{ type: "lease", key }]);
    expect(await admitted("short", 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await admitted("e")).toBe(true);
    await s.renewLeases([{ key, id: "d" }], 60_000);
    expect(await admitted("f")).toBe(false);
  });

  it("budget: asks for a seed once, a second seed does not overwrite, stops once used up", async () => {
    const s = store();
    const key = `sy:{t-${uniq()}}:budget`;
    const budget: Check = { type: "budget", key, limit: 100, cost: 30 };
    expect(await s.admit("a", [budget], 1000)).toEqual({ kind: "seed", index: 0 });
    await s.seedBudget(key, 50, 60_000);
    await s.seedBudget(key, 0, 60_000);
    const admitted: boolean[] = [];
    for (const id of ["a", "b", "c"]) {
      const o = await s.admit(id, [budget], 1000);
      admitted.push(o.kind === "done" && o.admitted);
    }
    expect(admitted).toEqual([true, true, false]);
    await s.settle("a", [{ type: "budget", key, delta: -25 }]);
    expect(await s.budgetUsage(key)).toBe(85);
  });
});


describe("two replicas sharing Redis and the database", () => {
  it("a burst of 1,000 across both admits at most the limit (+1 %)", async () => {
    const tenant = await makeTenant();
    const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
    await setKeyLimits(db(), CLI_ACTOR, tenant.id, { keyId: apiKey.id, rpm: 100 });
    // fail closed, so a request that never reached Redis can't be admitted unlimited; a generous timeout,
    // because this test is about counting across replicas and a loaded CI box stalls event loops
    const env = { REDIS_URL: redis.url, RATE_LIMIT_FAIL_MODE: "closed", RATE_LIMIT_REDIS_TIMEOUT_MS: "5000" };
    const replicas = await Promise.all([0, 1].map(() => startV1ServerChild(env)));
    try {
      let next = 0;
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 40 }, async (_, worker) => {
          while (next < 1000) {
            next++;
            const r = replicas[worker % 2]!;
            const res = await fetch(`${r.url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } });
            await res.arrayBuffer();
            statuses.push(res.status);
          }
        }),
      );
      const ok = statuses.filter((s) => s === 200).length;
      expect(statuses).toHaveLength(1000);
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(ok).toBeGreaterThanOrEqual(100);
      expect(ok).toBeLessThanOrEqual(101);
    } finally {
      await Promise.all(replicas.map((r) => stopV1ServerChild(r.child)));
    }
  }, 120_000);
});

describe("Redis unreachable", () => {
  let server: { url: string; close: () => Promise<void> };
  let key: string;

  beforeAll(async () => {
    const tenant = await makeTenant();
    const created = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
    await setKeyLimits(db(), CLI_ACTOR, tenant.id, { keyId: created.apiKey.id, rpm: 1000, maxConcurrent: 10 });
    clearApiKeyCache();
    key = created.key;
    server = await startV1Server();
  });
  afterAll(async () => {
    await server?.close();
  });

  const get = () => fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  const backendUp = async () => {
    const text = await metrics().registry.getSingleMetricAsString("switchyard_ratelimit_backend_up");
    return /switchyard_ratelimit_backend_up\{[^}]*\} (\d)/.exec(text)?.[1];
  };

  it("fail open: requests are admitted without limits, and the outage shows in metrics", async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    await setLimiter(new Limiter({ store: store(dead, 200), failMode: "open", logger: silent }));
    const before = (await metrics().rateLimitBackendErrors.get()).values.find((v) => v.labels.fail_mode === "open")?.value ?? 0;
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ratelimit-limit-requests")).toBeNull();
    const after = (await metrics().rateLimitBackendErrors.get()).values.find((v) => v.labels.fail_mode === "open")?.value ?? 0;
    expect(after).toBe(before + 1);
    expect(await backendUp()).toBe("0");
  });

  it("fail closed: requests get 503 rate_limiter_unavailable with Retry-After", async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    await setLimiter(new Limiter({ store: store(dead, 200), failMode: "closed", logger: silent }));
    const res = await get();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: "rate_limiter_unavailable", type: "service_unavailable_error" });
  });

  it("Redis going away mid-run: limits were enforced, then the fail mode applies", async () => {
    const own = await startRedis();
    try {
      const l = new Limiter({ store: store(own.url, 200), failMode: "closed", logger: silent });
      await setLimiter(l);
      const ok = await get();
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("1000");
      await own.stop();
      const res = await get();
      expect(res.status).toBe(503);
      expect(await backendUp()).toBe("0");
    } finally {
      await own.stop();
    }
  });
});
