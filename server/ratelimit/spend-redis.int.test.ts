/**
 * A money budget across two replicas of the /api/v1 server, in their own processes,
 * sharing a real redis-server and the run's database; the upstream is a fake
 * OpenAI-compatible server on loopback. Each replica alone would admit the whole
 * budget; together they must admit it once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "../db/client";
import { createApiKey } from "../services/api-keys/api-keys";
import { CLI_ACTOR } from "../services/audit/audit";
import { createBackend } from "../services/backends/backends";
import { setTenantLimits } from "../services/limits/limits";
import { setPrice } from "../services/pricing/prices";
import { createPolicy } from "../services/routing/policies";
import { type FakeUpstream, startFakeUpstream } from "../test/fake-upstream";
import { makeTenant, uniq } from "../test/fixtures";
import { type TestRedis, startRedis } from "../test/redis";
import { startV1ServerChild, stopV1ServerChild } from "../test/v1-server";

let redis: TestRedis;
let up: FakeUpstream;

beforeAll(async () => {
  redis = await startRedis();
  up = await startFakeUpstream({ models: ["up-model"] });
});

afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

describe("a money budget over two replicas sharing Redis", () => {
  it("admits the budget's worth of requests once across both, then 429 budget_exceeded on either", async () => {
    const tenant = await makeTenant();
    const { key } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
    const model = `up-redis-${uniq()}`;
    const b = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: up.url, discover: false, models: [model], public: true });
    const { alias } = await createPolicy(db(), CLI_ACTOR, tenant.id, {
      alias: `a-${uniq()}`,
      strategy: "single",
      targets: [{ type: "backend", backendId: b.id, model }] as never,
    });
    // the fake answers 7 + 4 tokens; at 1,000 per million that is exactly 0.011 a request: 0.11 buys 10
    await setPrice(db(), CLI_ACTOR, { model, input: "1000", output: "1000" });
    await setTenantLimits(db(), CLI_ACTOR, tenant.id, { monthlySpendBudget: "0.11" });
    const env = { REDIS_URL: redis.url, RATE_LIMIT_FAIL_MODE: "closed", RATE_LIMIT_REDIS_TIMEOUT_MS: "5000" };
    const replicas = await Promise.all([0, 1].map(() => startV1ServerChild(env)));
    try {
      const results: { replica: number; status: number; code?: string }[] = [];
      // one after another, alternating replicas: each admission sees the settlements before it
      for (let i = 0; i < 24; i++) {
        const r = replicas[i % 2]!;
        const res = await fetch(`${r.url}/api/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ model: alias, messages: [{ role: "user", content: "Hi" }], max_tokens: 16 }),
        });
        const body = (await res.json()) as { error?: { code: string } };
        results.push({ replica: i % 2, status: res.status, code: body.error?.code });
      }
      const ok = results.filter((r) => r.status === 200);
      // a settlement still in flight when the next admission runs counts the (larger) reservation: never more than 10
      expect(ok.length).toBeLessThanOrEqual(10);
      expect(ok.length).toBeGreaterThanOrEqual(9);
      expect(new Set(ok.map((r) => r.replica))).toEqual(new Set([0, 1]));
      const refused = results.filter((r) => r.status !== 200);
      expect(refused.every((r) => r.status === 429 && r.code === "budget_exceeded")).toBe(true);
      expect(new Set(refused.map((r) => r.replica))).toEqual(new Set([0, 1]));
      // once refused, refused: the budget does not come back within the month
      expect(results.findIndex((r) => r.status !== 200)).toBe(ok.length);
    } finally {
      await Promise.all(replicas.map((r) => stopV1ServerChild(r.child)));
    }
    // the rows the replicas wrote cost what the budget allowed
    const spent = await db().requestLog.aggregate({ where: { tenantId: tenant.id, status: "ok" }, _sum: { costNano: true } });
    expect(spent._sum.costNano).toBeLessThanOrEqual(110_000_000n);
    expect(spent._sum.costNano).toBeGreaterThanOrEqual(99_000_000n);
  }, 120_000);
});
