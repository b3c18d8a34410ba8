/**
 * Console reads at scale: seeds a SQLite (or PostgreSQL) database with N request-log
 * rows for one tenant — written by the real usage writer, so the hourly rollups are
 * the production ones — then times the tRPC procedures the console calls, through a
 * real tRPC caller (session lookup, role check, validation, query), as server time.
 *
 *   npx tsx bench/console.ts [--rows 1000000] [--db file:.tmp/bench/console.db] [--reps 15]
 *
 * The database is kept and reused when it already holds the rows (seeding 1M takes
 * a few minutes). Prints one line per procedure: p50 / p95 / max in ms.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    db: { type: "string" },
    reps: { type: "string", default: "15" },
  },
});
const ROWS = Number(values.rows);
const REPS = Number(values.reps);
const root = path.resolve(import.meta.dirname, "..");
mkdirSync(path.join(root, ".tmp/bench"), { recursive: true });
const url = values.db ?? `file:${path.join(root, `.tmp/bench/console-${ROWS}.db`)}`;
process.env.DATABASE_URL = url;
process.env.AUTH_SECRET ??= "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";

const KEYS = 20;
const MODELS = ["llama-3-8b", "qwen-2.5-7b", "mistral-7b", "embed-small"];
const DAY = 86_400_000;

async function main() {
  const { migrate } = await import("../server/db/migrate");
  const { db } = await import("../server/db/client");
  const { newId } = await import("../server/lib/ids");
  const { UsageWriter } = await import("../server/services/usage/usage-writer");
  const { createUser } = await import("../server/services/users/users");
  const { createTenant } = await import("../server/services/tenants/tenants");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { allowServerOnly } = await import("../server/test/server-only");
  allowServerOnly(); // trpc/root carries `import "server-only"`
  const { createCaller } = await import("../server/trpc/root");
  const { createContext } = await import("../server/trpc/init");

  await migrate(url);
  if (!(await db().tenant.findUnique({ where: { slug: "bench" } }))) {
    const t = await createTenant(db(), CLI_ACTOR, { slug: "bench", name: "Bench" });
    await createUser(db(), CLI_ACTOR, { email: "bench@example.test", name: "Bench", password: "bench password long", isPlatformAdmin: true });
    for (let k = 0; k < KEYS; k++) await createApiKey(db(), CLI_ACTOR, t.id, { name: `key ${k}` });
  }
  const tenant = await db().tenant.findUniqueOrThrow({ where: { slug: "bench" } });
  const admin = await db().user.findUniqueOrThrow({ where: { email: "bench@example.test" } });
  const keys = await db().apiKey.findMany({ where: { tenantId: tenant.id }, select: { id: true }, orderBy: { name: "asc" } });

  const have = await db().requestLog.count({ where: { tenantId: tenant.id } });
  if (have < ROWS) {
    console.log(`seeding ${ROWS - have} rows into ${url} …`);
    const writer = new UsageWriter({ db: db(), flushIntervalMs: 50, maxBatch: 2000, maxBuffered: 50_000 });
    const start = Date.now() - 30 * DAY;
    const t0 = performance.now();
    let rnd = 12345;
    const rand = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = have; i < ROWS; i++) {
      const r = rand();
      const status = r < 0.04 ? "error" : r < 0.05 ? "cancelled" : "ok";
      const latency = Math.round(120 + 2000 * rand() ** 3 + (status === "error" ? 50 : 0));
      const id = newId("req", start + Math.floor((i / ROWS) * 30 * DAY));
      writer.record({
        id,
        requestId: id,
        tenantId: tenant.id,
        apiKeyId: keys[i % KEYS]!.id,
        userId: null,
        endpoint: "chat.completions",
        modelRequested: MODELS[i % MODELS.length]!,
        modelUsed: MODELS[i % MODELS.length]!,
        backendId: null,
        status,
        httpStatus: status === "ok" ? 200 : status === "error" ? 500 : 499,
        errorCode: status === "error" ? "upstream_error" : null,
        errorMessage: null,
        stream: i % 2 === 0,
        promptTokens: 50 + (i % 400),
        completionTokens: status === "ok" ? 20 + (i % 300) : 3,
        ttftMs: 30 + (i % 50),
        latencyMs: latency,
        createdAt: new Date(start + Math.floor((i / ROWS) * 30 * DAY)),
      });
      // keep the writer's buffer bounded: let it catch up every batch's worth
      if (i % 20_000 === 0) await writer.flush();
      if (i % 200_000 === 0 && i > have) console.log(`  ${i} rows (${Math.round((i - have) / ((performance.now() - t0) / 1000))} rows/s)`);
    }
    await writer.flush();
    console.log(`seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const rollups = await db().usageRollup.count({ where: { tenantId: tenant.id } });
  console.log(`${await db().requestLog.count({ where: { tenantId: tenant.id } })} request-log rows, ${rollups} rollup rows, ${url.startsWith("file:") ? "SQLite" : "PostgreSQL"}`);

  const { sessionVersion } = await db().user.findUniqueOrThrow({ where: { id: admin.id }, select: { sessionVersion: true } });
  const caller = createCaller(createContext({ session: { userId: admin.id, sessionVersion }, db: db() }));
  const tenantId = tenant.id;
  const tenDaysAgo = new Date(Date.now() - 10 * DAY);
  const firstPage = await caller.usage.list({ tenantId, filter: {}, limit: 50 });
  const prefix = firstPage.items[0]!.requestId.slice(0, 12);
  let deepCursor: string | undefined;
  for (let p = 0; p < 20; p++) deepCursor = (await caller.usage.list({ tenantId, filter: {}, cursor: deepCursor, limit: 50 })).nextCursor ?? undefined;

  const cases: [string, () => Promise<unknown>][] = [
    ["overview 24h", () => caller.usage.overview({ tenantId, range: "24h" })],
    ["overview 7d", () => caller.usage.overview({ tenantId, range: "7d" })],
    ["overview 30d", () => caller.usage.overview({ tenantId, range: "30d" })],
    ["usage log, first page, no filter", () => caller.usage.list({ tenantId, filter: {}, limit: 50 })],
    ["usage log, page 21 (keyset)", () => caller.usage.list({ tenantId, filter: {}, cursor: deepCursor, limit: 50 })],
    ["usage log, one key", () => caller.usage.list({ tenantId, filter: { apiKeyId: keys[3]!.id }, limit: 50 })],
    ["usage log, status=error", () => caller.usage.list({ tenantId, filter: { status: "error" }, limit: 50 })],
    ["usage log, one model", () => caller.usage.list({ tenantId, filter: { model: MODELS[1] }, limit: 50 })],
    ["usage log, key + error + model", () => caller.usage.list({ tenantId, filter: { apiKeyId: keys[2]!.id, status: "error", model: MODELS[2] }, limit: 50 })],
    ["usage log, one day 10 days ago", () => caller.usage.list({ tenantId, filter: { from: tenDaysAgo, to: new Date(tenDaysAgo.getTime() + DAY) }, limit: 50 })],
    ["usage log, request-id prefix", () => caller.usage.list({ tenantId, filter: { requestId: prefix }, limit: 50 })],
    ["api keys list", () => caller.apiKeys.list({ tenantId })],
  ];
  console.log(`\n${"procedure".padEnd(36)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"max ms".padStart(8)}`);
  for (const [name, run] of cases) {
    await run(); // warm the statement cache and the page cache
    const times: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const t = performance.now();
      await run();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
    console.log(`${name.padEnd(36)} ${q(0.5).padStart(8)} ${q(0.95).padStart(8)} ${times.at(-1)!.toFixed(1).padStart(8)}`);
  }

  // CSV export of a filtered set: throughput of the streamed generator.
  const { usageCsv } = await import("../server/services/usage/dashboard");
  const t = performance.now();
  let lines = 0;
  let bytes = 0;
  for await (const part of usageCsv(db(), tenantId, { apiKeyId: keys[5]!.id })) {
    bytes += part.length;
    lines += part.split("\n").length - 1;
  }
  const s = (performance.now() - t) / 1000;
  console.log(`\nCSV export, one key: ${lines - 1} rows, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(1)} s (${Math.round((lines - 1) / s)} rows/s), heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`);
  await db().$disconnect();
}

void main();
