/**
 * The usage writer on the run's real database (SQLite or PostgreSQL). Failures are
 * injected with a thin proxy over the real client (`faulty`), so every write that
 * does happen is a real one.
 */
import { describe, expect, it } from "vitest";
import { type Db, type Tx, db } from "../../db/client";
import { makeTenant } from "../../test/fixtures";
import { usageRecord } from "../../test/usage";
import { hourStart } from "./aggregate";
import { listRequestLogs, rollupTotals } from "./queries";
import type { UsageRecord } from "./types";
import { type UsageLogger, UsageWriter, type UsageWriterOptions } from "./usage-writer";

const H10 = new Date("2026-01-05T10:00:00.000Z");
const H11 = new Date("2026-01-05T11:00:00.000Z");
const H12 = new Date("2026-01-05T12:00:00.000Z");
const at = (hour: Date, minute: number) => new Date(hour.getTime() + minute * 60_000);

const rec = (tenantId: string, over: Partial<UsageRecord> = {}): UsageRecord =>
  usageRecord({ tenantId, apiKeyId: "key_a", modelRequested: "fast", modelUsed: "tiny-chat", promptTokens: 5, completionTokens: 7, ttftMs: 40, latencyMs: 120, createdAt: at(H10, 1), ...over });

/** Collects log lines instead of printing them (failure tests log on purpose). */
function memoryLogger() {
  const lines: string[] = [];
  const logger: UsageLogger = { error: (m) => lines.push(`error ${m}`), warn: (m) => lines.push(`warn ${m}`) };
  return { lines, logger };
}

function writer(opts: Partial<UsageWriterOptions> = {}) {
  return new UsageWriter({ db: db(), retryBaseMs: 5, ...opts });
}

interface Faults {
  /** called before each $transaction; throw to fail it before anything is written */
  before?: (call: number) => void;
  /** called after each $transaction committed; throw to simulate a lost COMMIT acknowledgement */
  after?: (call: number) => void;
  /** called with each RequestLog insert's parameter (the batch as JSON) inside the transaction; throw to fail (and roll back) it */
  insert?: (payload: string) => void;
}

/** The real client, with faults injected at its edge. */
function faulty(faults: Faults): Db {
  const base = db();
  let calls = 0;
  const wrapTx = (tx: Tx): Tx =>
    new Proxy(tx, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop !== "$queryRawUnsafe" || !faults.insert) return value;
        return (sql: string, ...params: unknown[]) => {
          if (sql.startsWith(`INSERT INTO "RequestLog"`)) faults.insert!(String(params[0]));
          return target.$queryRawUnsafe(sql, ...params);
        };
      },
    });
  return new Proxy(base, {
    get(target, prop) {
      if (prop === "$transaction") {
        return async (fn: (tx: Tx) => Promise<unknown>, options?: object) => {
          const n = ++calls;
          faults.before?.(n);
          const result = await target.$transaction((tx) => fn(wrapTx(tx)), options);
          faults.after?.(n);
          return result;
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const logCount = (tenantId: string) => db().requestLog.count({ where: { tenantId } });
const rollups = (tenantId: string) =>
  db().usageRollup.findMany({ where: { tenantId }, orderBy: [{ hour: "asc" }, { apiKeyId: "asc" }, { model: "asc" }] });

describe("UsageWriter", () => {
  it("writes a row with every field the caller gave", async () => {
    const t = await makeTenant();
    const w = writer();
    const r = rec(t.id, {
      requestId: "client-chosen-id.1",
      userId: "usr_someone",
      backendId: "bke_remote",
      status: "error",
      httpStatus: 502,
      errorCode: "upstream_error",
      errorMessage: "x".repeat(800),
      stream: true,
      ttftMs: null,
      policyId: "pol_1",
      routeReason: "fallback",
      routeScore: 0.4321,
      attempts: [{ model: "a", error: "timeout" }, { model: "tiny-chat" }],
      cached: true,
      cachedTokens: 4,
      toolsOffered: 3,
      toolCalls: 2,
      costNano: 1_234_567_891n,
      priceId: "prc_x",
    });
    w.record(r);
    await w.flush();
    const { items, nextCursor } = await listRequestLogs(db(), t.id, { limit: 10 });
    expect(nextCursor).toBeNull();
    expect(items).toEqual([
      {
        ...r,
        errorMessage: "x".repeat(500),
        attempts: JSON.stringify(r.attempts),
      },
    ]);
    expect(w.stats()).toMatchObject({ buffered: 0, written: 1, dropped: 0, failedFlushes: 0, lastError: null });
    await w.close();
  });

  it("records tool use: offered tools and calls in the answer, 0 when the caller leaves them out", async () => {
    const t = await makeTenant();
    const w = writer();
    const withTools = rec(t.id, { createdAt: at(H10, 2), toolsOffered: 4, toolCalls: 1 });
    const parallel = rec(t.id, { createdAt: at(H10, 3), toolsOffered: 2, toolCalls: 3 });
    const plain = rec(t.id, { createdAt: at(H10, 4) });
    const bad = rec(t.id, { createdAt: at(H10, 5), toolsOffered: Number.NaN, toolCalls: -2 });
    for (const r of [withTools, parallel, plain, bad]) w.record(r);
    await w.flush();
    const rows = await db().requestLog.findMany({ where: { tenantId: t.id }, select: { id: true, toolsOffered: true, toolCalls: true } });
    const byId = new Map(rows.map((r) => [r.id, [r.toolsOffered, r.toolCalls]]));
    expect(byId.get(withTools.id)).toEqual([4, 1]);
    expect(byId.get(parallel.id)).toEqual([2, 3]);
    expect(byId.get(plain.id)).toEqual([0, 0]);
    expect(byId.get(bad.id)).toEqual([0, 0]);
    await w.close();
  });

  it("keeps hourly rollups per key × model × hour, with errors, cancellations and TTFT sums", async () => {
    const t = await makeTenant();
    const w = writer();
    // key_a × tiny-chat × 10:00 — ok, error, cancelled
    w.record(rec(t.id, { createdAt: at(H10, 1), promptTokens: 10, completionTokens: 20, cachedTokens: 6, latencyMs: 100, ttftMs: 30 }));
    w.record(rec(t.id, { createdAt: at(H10, 59), status: "error", httpStatus: 500, promptTokens: 3, completionTokens: 0, latencyMs: 50, ttftMs: null }));
    w.record(rec(t.id, { createdAt: at(H10, 30), status: "cancelled", httpStatus: 499, promptTokens: 4, completionTokens: 2, latencyMs: 70, ttftMs: 10 }));
    // key_a × tiny-chat × 11:00
    w.record(rec(t.id, { createdAt: at(H11, 0), promptTokens: 1, completionTokens: 1, latencyMs: 10, ttftMs: 5 }));
    // key_b × tiny-chat × 10:00
    w.record(rec(t.id, { apiKeyId: "key_b", createdAt: at(H10, 5), promptTokens: 2, completionTokens: 2, latencyMs: 20, ttftMs: 8 }));
    // key_a × other-model × 10:00, and a console-session request (no key)
    w.record(rec(t.id, { modelUsed: "other-model", createdAt: at(H10, 6), latencyMs: 30, ttftMs: 12 }));
    w.record(rec(t.id, { apiKeyId: null, userId: "usr_x", createdAt: at(H11, 6), latencyMs: 40, ttftMs: null }));
    // no model served it (e.g. unknown model): bucketed under the name asked for
    w.record(rec(t.id, { modelUsed: null, modelRequested: "nope", status: "error", httpStatus: 404, promptTokens: 0, completionTokens: 0, ttftMs: null, latencyMs: 2 }));
    await w.flush();

    const rows = (await rollups(t.id)).map((r) => ({
      key: `${r.apiKeyId}|${r.model}|${r.hour.toISOString().slice(11, 16)}`,
      n: [r.requests, r.errors, r.cancelled, r.promptTokens, r.completionTokens, r.latencySumMs, r.ttftSumMs, r.ttftCount].map(Number),
    }));
    expect(rows).toEqual([
      { key: "key_a|nope|10:00", n: [1, 1, 0, 0, 0, 2, 0, 0] },
      { key: "key_a|other-model|10:00", n: [1, 0, 0, 5, 7, 30, 12, 1] },
      { key: "key_a|tiny-chat|10:00", n: [3, 1, 1, 17, 22, 220, 40, 2] },
      { key: "key_b|tiny-chat|10:00", n: [1, 0, 0, 2, 2, 20, 8, 1] },
      { key: "|tiny-chat|11:00", n: [1, 0, 0, 5, 7, 40, 0, 0] },
      { key: "key_a|tiny-chat|11:00", n: [1, 0, 0, 1, 1, 10, 5, 1] },
    ]);

    const ten = await rollupTotals(db(), t.id, H10, H11);
    expect(ten).toMatchObject({ requests: 6, errors: 2, cancelled: 1, ttftSumMs: 60, ttftCount: 4, avgTtftMs: 15 });
    const both = await rollupTotals(db(), t.id, H10, H12);
    expect(both).toMatchObject({ requests: 8, promptTokens: 30, completionTokens: 39, cachedTokens: 6, latencySumMs: 322 });
    expect(both.avgLatencyMs).toBeCloseTo(322 / 8);
    // another tenant sees nothing
    expect((await rollupTotals(db(), (await makeTenant()).id, H10, H12)).requests).toBe(0);
    await w.close();
  });

  it("sums cost into the rollups exactly and counts unpriced requests apart (never as 0)", async () => {
    const t = await makeTenant();
    const w = writer();
    w.record(rec(t.id, { costNano: 1_000_000_001n }));
    w.record(rec(t.id, { costNano: 2n }));
    w.record(rec(t.id, { costNano: null }));
    await w.flush();
    w.record(rec(t.id, { costNano: 3_000_000_000_000n })); // 3,000 units in one request
    await w.flush();
    const [r] = await rollups(t.id);
    expect(r).toMatchObject({ requests: 4, costNano: 3_001_000_000_003n, unpriced: 1 });
    expect((await rollupTotals(db(), t.id, H10, H12)).costNano).toBe(3_001_000_000_003n);
    const logged = await db().requestLog.findMany({ where: { tenantId: t.id }, select: { costNano: true } });
    expect(logged.map((l) => String(l.costNano)).sort()).toEqual(["1000000001", "2", "3000000000000", "null"]);
    await w.close();
  });

  it("token and latency sums are 64-bit: a bucket past 2^31 keeps counting", async () => {
    const t = await makeTenant();
    const w = writer();
    // each row within INTEGER range; their sums are not (1,000 req/s of 1 s each overflow int4 within the hour)
    for (let i = 0; i < 3; i++) w.record(rec(t.id, { promptTokens: 2_000_000_000, completionTokens: 2_000_000_000, latencyMs: 2_000_000_000 }));
    await w.flush();
    const [r] = await rollups(t.id);
    expect(r).toMatchObject({ requests: 3, promptTokens: 6_000_000_000n, completionTokens: 6_000_000_000n, latencySumMs: 6_000_000_000n });
    expect(w.stats()).toMatchObject({ written: 3, rejected: 0 });
    await w.close();
  });

  it("a rollup write the database refuses never costs the rows: they are written, the failure counted", async () => {
    const t = await makeTenant();
    const w = writer();
    const pg = process.env.TEST_DB === "postgresql";
    const name = `refuse_rollup_${t.id.replace(/[^a-z0-9]/gi, "_")}`;
    // a trigger that refuses this tenant's rollups only (other tests run against the same database)
    if (pg) {
      await db().$executeRawUnsafe(
        `CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'rollups refused'; END $$ LANGUAGE plpgsql`,
      );
      await db().$executeRawUnsafe(
        `CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON "UsageRollup" FOR EACH ROW WHEN (NEW."tenantId" = '${t.id}') EXECUTE FUNCTION ${name}()`,
      );
    } else {
      await db().$executeRawUnsafe(
        `CREATE TRIGGER ${name} BEFORE INSERT ON "UsageRollup" WHEN NEW."tenantId" = '${t.id}' BEGIN SELECT RAISE(ABORT, 'rollups refused'); END`,
      );
    }
    const { metrics } = await import("../../metrics/metrics");
    const before = (await metrics().usageRollupFailures.get()).values[0]?.value ?? 0;
    try {
      const other = await makeTenant();
      w.record(rec(t.id, { costNano: 5n }));
      w.record(rec(t.id, { costNano: 7n }));
      w.record(rec(other.id, { costNano: 11n }));
      await w.flush();
      expect(await logCount(t.id)).toBe(2);
      expect(await rollups(t.id)).toEqual([]);
      expect(w.stats()).toMatchObject({ written: 3, rejected: 0, dropped: 0 });
      expect((await metrics().usageRollupFailures.get()).values[0]?.value).toBe(before + 1);
    } finally {
      await db().$executeRawUnsafe(pg ? `DROP TRIGGER ${name} ON "UsageRollup"` : `DROP TRIGGER ${name}`);
      if (pg) await db().$executeRawUnsafe(`DROP FUNCTION ${name}()`);
      await w.close();
    }
  });

  it("adds later batches to the existing rollup rows", async () => {
    const t = await makeTenant();
    const w = writer();
    w.record(rec(t.id, { promptTokens: 1, ttftMs: 10 }));
    await w.flush();
    w.record(rec(t.id, { promptTokens: 2, ttftMs: 20 }));
    w.record(rec(t.id, { promptTokens: 4, ttftMs: null, status: "error" }));
    await w.flush();
    const rs = await rollups(t.id);
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ requests: 3, errors: 1, promptTokens: 7n, ttftSumMs: 30n, ttftCount: 2, hour: hourStart(at(H10, 1)) });
    await w.close();
  });

  it("writes 5,000 records from a tight loop in the background, and the rollups add up to the same totals", async () => {
    const t = await makeTenant();
    const w = writer();
    let prompt = 0;
    let latency = 0;
    for (let i = 0; i < 5000; i++) {
      const r = rec(t.id, {
        apiKeyId: `key_${i % 3}`,
        modelUsed: `m${i % 2}`,
        createdAt: at(H10, (i % 120) / 2), // 10:00–10:59:30
        promptTokens: i % 17,
        latencyMs: i % 101,
        status: i % 10 === 0 ? "error" : "ok",
      });
      prompt += r.promptTokens;
      latency += r.latencyMs;
      w.record(r);
    }
    // no flush(): the background loop alone must get everything in
    await expect.poll(() => logCount(t.id), { timeout: 30_000, interval: 50 }).toBe(5000);
    await expect.poll(() => w.stats().buffered, { timeout: 5_000 }).toBe(0);
    expect(w.stats()).toMatchObject({ written: 5000, dropped: 0, failedFlushes: 0 });
    const totals = await rollupTotals(db(), t.id, H10, H12);
    expect(totals).toMatchObject({ requests: 5000, errors: 500, promptTokens: prompt, latencySumMs: latency });
    expect(await rollups(t.id)).toHaveLength(6); // 3 keys × 2 models × 1 hour
    await w.close();
  });

  it("flush() makes recorded rows visible; concurrent flushes all resolve", async () => {
    const t = await makeTenant();
    const w = writer({ flushIntervalMs: 60_000 }); // only flush() writes here
    for (let i = 0; i < 3; i++) w.record(rec(t.id));
    expect(await logCount(t.id)).toBe(0);
    await w.flush();
    expect(await logCount(t.id)).toBe(3);

    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      w.record(rec(t.id));
      if (i % 10 === 0) flushes.push(w.flush());
    }
    flushes.push(w.flush());
    await Promise.all(flushes);
    expect(await logCount(t.id)).toBe(33);
    await w.close();
  });

  it("close() flushes; a record arriving after close() is still written", async () => {
    const t = await makeTenant();
    const w = writer({ flushIntervalMs: 60_000 });
    for (let i = 0; i < 7; i++) w.record(rec(t.id));
    await w.close();
    expect(await logCount(t.id)).toBe(7);
    w.record(rec(t.id));
    await expect.poll(() => logCount(t.id)).toBe(8);
  });

  it("keeps a batch through database failures and retries it with backoff, losing nothing", async () => {
    const t = await makeTenant();
    const { lines, logger } = memoryLogger();
    let down = 5; // the next 5 transactions fail (batch attempts and write probes alike)
    const w = new UsageWriter({
      db: faulty({
        before: () => {
          if (down-- > 0) throw new Error("database is down");
        },
      }),
      retryBaseMs: 5,
      logger,
    });
    for (let i = 0; i < 20; i++) w.record(rec(t.id));
    await w.flush();
    expect(await logCount(t.id)).toBe(20);
    expect((await rollupTotals(db(), t.id, H10, H11)).requests).toBe(20);
    const s = w.stats();
    expect(s).toMatchObject({ written: 20, dropped: 0, rejected: 0, buffered: 0, lastError: "database is down" });
    expect(s.failedFlushes).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l.includes("keeping them and retrying"))).toHaveLength(s.failedFlushes);
  });

  it("retries a batch whose COMMIT succeeded but looked failed without writing or counting it twice", async () => {
    const t = await makeTenant();
    const { logger } = memoryLogger();
    const w = new UsageWriter({
      db: faulty({
        after: (n) => {
          if (n === 1) throw new Error("connection lost during COMMIT");
        },
      }),
      retryBaseMs: 5,
      logger,
    });
    for (let i = 0; i < 10; i++) w.record(rec(t.id, { promptTokens: 1 }));
    await w.flush();
    expect(await logCount(t.id)).toBe(10);
    expect(await rollupTotals(db(), t.id, H10, H11)).toMatchObject({ requests: 10, promptTokens: 10 });
    expect(w.stats()).toMatchObject({ failedFlushes: 1, written: 0, duplicates: 10, buffered: 0 });
  });

  it("writes a request once when it is recorded twice, in the buffer or after it was written", async () => {
    const t = await makeTenant();
    const { lines, logger } = memoryLogger();
    const w = new UsageWriter({ db: db(), retryBaseMs: 5, logger });
    const r = rec(t.id);
    w.record(r);
    w.record({ ...r }); // still buffered
    await w.flush();
    w.record({ ...r }); // already in RequestLog: the first attempt fails on the primary key, the retry skips it
    w.record(rec(t.id));
    await w.flush();
    expect(await logCount(t.id)).toBe(2);
    expect((await rollupTotals(db(), t.id, H10, H11)).requests).toBe(2);
    expect(w.stats()).toMatchObject({ written: 2, duplicates: 2, dropped: 0, rejected: 0 });
    expect(lines.some((l) => l.includes("recorded twice"))).toBe(true);
  });

  it("drops the oldest records when the buffer outgrows maxBuffered during an outage, and counts them", async () => {
    const t = await makeTenant();
    const { lines, logger } = memoryLogger();
    let down = true;
    const w = new UsageWriter({
      db: faulty({
        before: () => {
          if (down) throw new Error("database is down");
        },
      }),
      maxBatch: 10,
      maxBuffered: 50,
      retryBaseMs: 5,
      retryMaxMs: 20,
      logger,
    });
    const records = Array.from({ length: 100 }, () => rec(t.id));
    for (const r of records) w.record(r);
    expect(w.stats()).toMatchObject({ buffered: 50, dropped: 50 });
    expect(lines.filter((l) => l.includes("USAGE ROWS LOST"))).toHaveLength(1); // loud, but not once per row
    await expect.poll(() => w.stats().failedFlushes).toBeGreaterThan(1);
    down = false;
    await w.flush();
    const written = await db().requestLog.findMany({ where: { tenantId: t.id }, select: { id: true } });
    expect(written.map((r) => r.id).sort()).toEqual(records.slice(50).map((r) => r.id).sort());
    expect(w.stats()).toMatchObject({ buffered: 0, written: 50, dropped: 50 });
  });

  it("sets aside a row the database keeps refusing while it answers, and writes every other row", async () => {
    const t = await makeTenant();
    const { lines, logger } = memoryLogger();
    const records = Array.from({ length: 40 }, () => rec(t.id));
    const poison = records[23]!.id;
    const w = new UsageWriter({
      db: faulty({
        insert: (payload) => {
          if (payload.includes(poison)) throw new Error("value out of range (simulated)");
        },
      }),
      retryBaseMs: 1,
      logger,
    });
    for (const r of records) w.record(r);
    await w.flush();
    const written = await db().requestLog.findMany({ where: { tenantId: t.id }, select: { id: true } });
    expect(written.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).filter((id) => id !== poison).sort());
    expect((await rollupTotals(db(), t.id, H10, H11)).requests).toBe(39);
    expect(w.stats()).toMatchObject({ written: 39, rejected: 1, dropped: 0, buffered: 0 });
    const rejection = lines.find((l) => l.includes("set aside"));
    expect(rejection).toContain(poison);
    expect(rejection).toContain('"promptTokens":5'); // the whole row is in the log, so it can be recovered
  });
});
