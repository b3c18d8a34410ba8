/**
 * Rough throughput of the usage writer (not a test): records N rows as fast as
 * possible into a fresh, migrated database and reports rows/s, plus the time of
 * each part of a batch. Usage:
 *
 *   npx tsx bench/usage-writer.ts sqlite [rows] [groupsPerBatch]
 *   npx tsx bench/usage-writer.ts postgresql [rows] [groupsPerBatch]   (BENCH_PG_URL, default the local server)
 *
 * groupsPerBatch = how many distinct rollup buckets (tenant × key × model × hour)
 * the rows fall into — the number of upserts per transaction.
 */
import { createDb } from "../server/db/client";
import { migrate } from "../server/db/migrate";
import { createScratchDatabase } from "../server/db/scratch";
import { newId } from "../server/lib/ids";
import type { UsageRecord } from "../server/services/usage/types";
import { UsageWriter } from "../server/services/usage/usage-writer";

async function main() {
  const kind = process.argv[2] ?? "sqlite";
  const rows = Number(process.argv[3] ?? 50_000);
  const groups = Number(process.argv[4] ?? 12);
  const { url, drop: cleanup } = await createScratchDatabase(kind, {
    pgAdminUrl: process.env.BENCH_PG_URL ?? "postgresql://postgres:postgres@localhost:5432/postgres",
    name: `usage_bench_${process.pid}`,
  });
  await migrate(url);
  const db = createDb(url);
  try {
    const writer = new UsageWriter({ db, flushIntervalMs: 250, maxBatch: 500 });
    const now = new Date();
    const records: UsageRecord[] = [];
    for (let i = 0; i < rows; i++) {
      const g = i % groups;
      records.push({
        id: newId("req"),
        tenantId: `tnt_bench${g % 4}`,
        apiKeyId: `key_${g}`,
        userId: null,
        endpoint: "chat.completions",
        modelRequested: "alias",
        modelUsed: `model-${g % 2}`,
        backendId: null,
        status: i % 20 === 0 ? "error" : "ok",
        httpStatus: i % 20 === 0 ? 500 : 200,
        errorCode: null,
        errorMessage: null,
        stream: true,
        promptTokens: 100,
        completionTokens: 50,
        ttftMs: 40,
        latencyMs: 900,
        createdAt: now,
      });
    }
    const started = performance.now();
    for (const r of records) writer.record(r);
    const recorded = performance.now();
    await writer.flush();
    const done = performance.now();
    const s = writer.stats();
    const count = await db.requestLog.count();
    console.log(
      JSON.stringify({
        db: kind,
        rows,
        rollupBucketsPerBatch: groups,
        recordMs: +(recorded - started).toFixed(1),
        recordNsPerCall: Math.round(((recorded - started) * 1e6) / rows),
        writeMs: Math.round(done - started),
        rowsPerSecond: Math.round(rows / ((done - started) / 1000)),
        batches: Math.ceil(rows / 500),
        msPerBatch: +((done - started) / Math.ceil(rows / 500)).toFixed(1),
        countInDb: count,
        stats: s,
      }),
    );
  } finally {
    await db.$disconnect();
    await cleanup();
  }
}

void main();
