/**
 * The limiter's cost (issue #7), in one run:
 *
 *  1. per request, limiter alone: admit + settle for a key with every limit set on
 *     the key and on its tenant (RPM, TPM, concurrency, budget: 8 checks, the worst
 *     case), in-process and against a local redis-server; sequential (latency) and
 *     with 32 requests in flight (throughput);
 *  2. its effect on /api/v1: GET /api/v1/models through the real route handlers over
 *     HTTP on loopback (auth, limiter, handler, usage record), for a key without
 *     limits, with limits in-process, and with limits in Redis.
 *
 *   npx tsx bench/limits.ts [--requests 20000] [--http 3000] [--rounds 3]
 *
 * Starts its own redis-server (Debian's, /usr/bin/redis-server) and a scratch SQLite
 * database; prints a Markdown table for docs/benchmarks.md.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    http: { type: "string", default: "3000" },
    rounds: { type: "string", default: "3" },
  },
});
const ROUNDS = Number(args.rounds);
const N = Number(args.requests);
const HTTP_N = Number(args.http);

const dir = mkdtempSync(path.join(tmpdir(), "switchyard-bench-limits-"));
process.env.DATABASE_URL = `file:${path.join(dir, "bench.db")}`;
process.env.AUTH_SECRET ??= "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";
process.env.PASSWORD_HASH_COST = "4";

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const f = (x: number, d = 1) => x.toFixed(d);

async function main() {
  const { migrate } = await import("../server/db/migrate");
  const { db } = await import("../server/db/client");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { createTenant } = await import("../server/services/tenants/tenants");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const { setKeyLimits, setTenantLimits } = await import("../server/services/limits/limits");
  const { Limiter, setLimiter } = await import("../server/ratelimit/limiter");
  const { MemoryStore } = await import("../server/ratelimit/memory-store");
  const { RedisStore } = await import("../server/ratelimit/redis-store");
  const { startRedis } = await import("../server/test/redis");
  const { startV1Server } = await import("../server/test/v1-server");
  const { usageWriter } = await import("../server/services/usage/usage-writer");
  type Principal = import("../server/auth/principal").Principal;

  await migrate(process.env.DATABASE_URL!);
  const redis = await startRedis();
  const silent = { warn: () => {}, error: () => {} };
  const big = 1_000_000_000;
  const limitsAll = { rpm: big, tpm: big, maxConcurrent: 100_000, monthlyTokenBudget: big };
  const principal = (tenantId: string, keyId: string): Principal => ({
    kind: "api_key",
    tenantId,
    tenantSlug: "bench",
    tenantStatus: "active",
    apiKeyId: keyId,
    userId: null,
    scopes: ["models"],
    models: null,
    limits: {
      tenant: { ...limitsAll, monthlySpendBudgetNano: null, dailySpendBudgetNano: null, budgetWarnPercent: null },
      key: { ...limitsAll, monthlySpendBudgetNano: null, dailySpendBudgetNano: null },
    },
  });

  // ---- 1. the limiter alone ---------------------------------------------------------
  const rows: string[] = [];
  for (const backend of ["memory", "redis"] as const) {
    const store = backend === "memory" ? new MemoryStore() : new RedisStore({ url: redis.url, timeoutMs: 1000 });
    const limiter = new Limiter({ store, failMode: "closed", logger: silent });
    const p = principal(`tnt_bench_${backend}`, `key_bench_${backend}`);
    // warm up (and seed the budget counters from the empty database)
    for (let i = 0; i < 500; i++) (await limiter.admit(p, { id: `w${i}`, estimate: 50 })).settle(40);
    await limiter.idle();
    const lat: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const a = await limiter.admit(p, { id: `s${i}`, estimate: 50 });
      a.settle(40);
      await limiter.idle();
      lat.push((performance.now() - t0) * 1000);
    }
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          const i = next++;
          (await limiter.admit(p, { id: `c${i}`, estimate: 50 })).settle(40);
        }
      }),
    );
    await limiter.idle();
    const throughput = N / ((performance.now() - t0) / 1000);
    rows.push(`| ${backend === "memory" ? "in-process" : "Redis (loopback)"} | ${f(pct(lat, 50))} | ${f(pct(lat, 99))} | ${Math.round(throughput)} |`);
    await limiter.close();
  }

  // ---- 2. /api/v1 overhead ------------------------------------------------------------
  const tenant = await createTenant(db(), CLI_ACTOR, { slug: "bench", name: "Bench" });
  const plain = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "no limits", scopes: ["models"] });
  const other = await createTenant(db(), CLI_ACTOR, { slug: "bench-limited", name: "Bench limited" });
  await setTenantLimits(db(), CLI_ACTOR, other.id, limitsAll);
  const limited = await createApiKey(db(), CLI_ACTOR, other.id, { name: "limits", scopes: ["models"] });
  await setKeyLimits(db(), CLI_ACTOR, other.id, { keyId: limited.apiKey.id, ...limitsAll });
  const server = await startV1Server();

  async function http(key: string) {
    const call = async () => {
      const res = await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      await res.arrayBuffer();
    };
    for (let i = 0; i < 200; i++) await call();
    const lat: number[] = [];
    for (let i = 0; i < HTTP_N; i++) {
      const t0 = performance.now();
      await call();
      lat.push(performance.now() - t0);
    }
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < HTTP_N) {
          next++;
          await call();
        }
      }),
    );
    const rps = HTTP_N / ((performance.now() - t0) / 1000);
    await usageWriter().flush();
    return { p50: pct(lat, 50), p99: pct(lat, 99), rps };
  }

  const cases: [string, string, () => Promise<void>][] = [
    ["no limits set (limiter skipped)", plain.key, async () => setLimiter(new Limiter({ store: new MemoryStore(), failMode: "open", logger: silent }))],
    ["8 checks, in-process", limited.key, async () => setLimiter(new Limiter({ store: new MemoryStore(), failMode: "open", logger: silent }))],
    [
      "8 checks, Redis",
      limited.key,
      async () => setLimiter(new Limiter({ store: new RedisStore({ url: redis.url, timeoutMs: 1000 }), failMode: "closed", logger: silent })),
    ],
  ];
  // interleaved rounds, median of each: a shared machine drifts more than these differences
  const runs = cases.map(() => [] as Awaited<ReturnType<typeof http>>[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, key, install]] of cases.entries()) {
      await install();
      runs[i]!.push(await http(key));
    }
  }
  const median = (xs: number[]) => pct(xs, 50);
  const httpRows = cases.map(([label], i) => {
    const r = runs[i]!;
    return `| ${label} | ${f(median(r.map((x) => x.p50)), 2)} | ${f(median(r.map((x) => x.p99)), 2)} | ${Math.round(median(r.map((x) => x.rps)))} |`;
  });
  await server.close();
  await setLimiter(new Limiter({ store: new MemoryStore(), failMode: "open", logger: silent }));
  await redis.stop();

  console.log(`\nLimiter alone: admit + settle, 8 checks (RPM, TPM, concurrency, budget × key and tenant), ${N} requests\n`);
  console.log("| backend | sequential p50 µs | sequential p99 µs | 32 in flight, requests/s |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) console.log(r);
  console.log(`\nGET /api/v1/models over HTTP on loopback, ${HTTP_N} requests per case and round, median of ${ROUNDS} interleaved rounds\n`);
  console.log("| key | sequential p50 ms | sequential p99 ms | 16 in flight, requests/s |");
  console.log("|---|---:|---:|---:|");
  for (const r of httpRows) console.log(r);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
