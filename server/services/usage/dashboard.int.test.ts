/**
 * The console's reads of usage, on rows written by the real usage writer (so the
 * rollups are the ones production has): overview totals and percentiles from the
 * rollups alone, the filtered log with keyset pages, row detail and CSV export —
 * each scoped to one tenant.
 */
import { describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { newId } from "../../lib/ids";
import { makeTenant } from "../../test/fixtures";
import { usageRecord } from "../../test/usage";
import { HOUR_MS, hourStart } from "./aggregate";
import { getUsageRow, histogramQuantile, listUsage, tenantOverview, usageCsv } from "./dashboard";
import type { UsageRecord } from "./types";
import { UsageWriter } from "./usage-writer";

const rec = (tenantId: string, over: Partial<UsageRecord>): UsageRecord => usageRecord({ tenantId, ttftMs: 3, ...over });

async function write(records: UsageRecord[]) {
  const w = new UsageWriter({ db: db(), flushIntervalMs: 10 });
  for (const r of records) w.record(r);
  await w.flush();
}

describe("histogramQuantile", () => {
  it("interpolates inside the bucket that holds the rank", () => {
    // 10 under 50 ms, 10 in (50,100], nothing else
    const counts = [10, 10, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(histogramQuantile(counts, 0.5)).toBe(50);
    expect(histogramQuantile(counts, 0.95)).toBe(95);
    expect(histogramQuantile(counts, 0.25)).toBe(25);
    expect(histogramQuantile([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.5)).toBeNull();
    // past the last bound there is no upper edge: report the bound
    expect(histogramQuantile([0, 0, 0, 0, 0, 0, 0, 0, 0, 4], 0.5)).toBe(30000);
  });
});

describe("tenantOverview", () => {
  it("sums the tenant's rollups over the range, with error rate, percentiles, series and top keys/models", async () => {
    const t = await makeTenant();
    const other = await makeTenant();
    const key = await db().apiKey.create({
      data: { id: newId("key"), tenantId: t.id, name: "billing", prefix: "sk-sy-abcdef", hash: `h-${newId("key")}` },
    });
    const now = new Date();
    const recent = new Date(hourStart(now).getTime() + 60_000);
    const old = new Date(now.getTime() - 3 * 24 * HOUR_MS);
    await write([
      ...Array.from({ length: 18 }, () => rec(t.id, { apiKeyId: key.id, latencyMs: 80, createdAt: recent })),
      rec(t.id, { status: "error", httpStatus: 500, latencyMs: 3000, modelUsed: "big", createdAt: recent }),
      rec(t.id, { status: "cancelled", httpStatus: 499, latencyMs: 20, createdAt: recent }),
      rec(t.id, { createdAt: old, latencyMs: 40 }),
      ...Array.from({ length: 50 }, () => rec(other.id, { createdAt: recent })),
    ]);

    const day = await tenantOverview(db(), t.id, "24h", now);
    expect(day.totals).toMatchObject({ requests: 20, errors: 1, cancelled: 1, promptTokens: 200, completionTokens: 100, tokens: 300 });
    expect(day.totals.errorRate).toBeCloseTo(0.05);
    // 20 ms, 18 × 80 ms, 3000 ms: the 10th and the 19th of 20 are both in (50, 100]
    expect(day.totals.p50LatencyMs).toBeGreaterThan(50);
    expect(day.totals.p50LatencyMs).toBeLessThanOrEqual(100);
    expect(day.totals.p95LatencyMs).toBe(100);
    expect(day.totals.avgLatencyMs).toBe(Math.round((20 + 18 * 80 + 3000) / 20));
    expect(day.series).toHaveLength(24);
    expect(day.series.at(-1)).toMatchObject({ requests: 20, errors: 1, tokens: 300 });
    expect(day.topKeys[0]).toMatchObject({ apiKeyId: key.id, name: "billing", prefix: "sk-sy-abcdef", requests: 18 });
    expect(day.topKeys[1]).toMatchObject({ apiKeyId: null, requests: 2 });
    expect(day.topModels.map((m) => m.model)).toEqual(["demo", "big"]);

    const week = await tenantOverview(db(), t.id, "7d", now);
    expect(week.totals.requests).toBe(21);
    expect(week.series).toHaveLength(28);
    expect(week.series.reduce((a, p) => a + p.requests, 0)).toBe(21);
    const month = await tenantOverview(db(), t.id, "30d", now);
    expect(month.series).toHaveLength(30);
  });
});

describe("the usage log", () => {
  it("filters by key, model, status, time and request-id prefix, pages newest first without gaps or repeats", async () => {
    const t = await makeTenant();
    const other = await makeTenant();
    const base = Date.now() - 60 * 60_000;
    // Several rows share a millisecond, so the (createdAt, id) cursor is what keeps pages exact.
    const rows = Array.from({ length: 45 }, (_, i) =>
      rec(t.id, {
        createdAt: new Date(base + Math.floor(i / 3) * 1000),
        apiKeyId: i % 2 ? "key_odd" : null,
        status: i % 5 === 0 ? "error" : "ok",
        modelRequested: i % 3 === 0 ? "big" : "demo",
        requestId: `job-${String(i).padStart(3, "0")}`,
      }),
    );
    await write([...rows, ...Array.from({ length: 10 }, () => rec(other.id, { apiKeyId: "key_odd" }))]);

    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listUsage(db(), t.id, { filter: {}, cursor, limit: 7 });
      all.push(...page.items.map((r) => r.requestId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(all).toHaveLength(45);
    expect(new Set(all).size).toBe(45);
    const order = [...rows].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((r) => r.requestId);
    expect(all).toEqual(order);

    const count = async (filter: Parameters<typeof listUsage>[2]["filter"]) => (await listUsage(db(), t.id, { filter, limit: 200 })).items.length;
    expect(await count({ apiKeyId: "key_odd" })).toBe(22);
    expect(await count({ status: "error" })).toBe(9);
    expect(await count({ model: "big" })).toBe(15);
    expect(await count({ requestId: "job-01" })).toBe(10);
    expect(await count({ requestId: "job-010" })).toBe(1);
    expect(await count({ from: new Date(base + 10_000), to: new Date(base + 12_000) })).toBe(6);
    expect(await count({ apiKeyId: "key_odd", status: "error", model: "demo" })).toBe(
      rows.filter((r) => r.apiKeyId === "key_odd" && r.status === "error" && r.modelRequested === "demo").length,
    );
  });

  it("a row's detail is found in its own tenant only", async () => {
    const t = await makeTenant();
    const other = await makeTenant();
    const r = rec(t.id, {});
    await write([r]);
    expect((await getUsageRow(db(), t.id, r.id)).requestId).toBe(r.requestId);
    await expect(getUsageRow(db(), other.id, r.id)).rejects.toMatchObject({ kind: "not_found" });
  });

  it("exports the filtered rows as CSV across many pages, quoting what needs it", async () => {
    const t = await makeTenant();
    await write([
      ...Array.from({ length: 25 }, () => rec(t.id, { modelRequested: "demo" })),
      rec(t.id, { modelRequested: "other", status: "error", httpStatus: 400, errorCode: "=cmd()", requestId: 'quote"d,id' }),
    ]);
    let csv = "";
    for await (const part of usageCsv(db(), t.id, { model: "demo" }, 4)) csv += part;
    const lines = csv.trim().split("\n");
    expect(lines).toHaveLength(26);
    expect(lines.slice(1).every((l) => l.split(",")[3] === "demo")).toBe(true);
    let other = "";
    for await (const part of usageCsv(db(), t.id, { model: "other" })) other += part;
    expect(other).toContain('"quote""d,id"');
    expect(other).toContain("'=cmd()");
  });

  it("shows tool use in the list, the detail and the CSV", async () => {
    const t = await makeTenant();
    const r = rec(t.id, { modelRequested: "tools", toolsOffered: 5, toolCalls: 2 });
    await write([r]);
    expect((await listUsage(db(), t.id, { filter: { model: "tools" }, limit: 10 })).items[0]).toMatchObject({ toolsOffered: 5, toolCalls: 2 });
    expect(await getUsageRow(db(), t.id, r.id)).toMatchObject({ toolsOffered: 5, toolCalls: 2 });
    let csv = "";
    for await (const part of usageCsv(db(), t.id, { model: "tools" })) csv += part;
    const [head, line] = csv.trim().split("\n").map((l) => l.split(","));
    expect(line![head!.indexOf("toolsOffered")]).toBe("5");
    expect(line![head!.indexOf("toolCalls")]).toBe("2");
  });
});
