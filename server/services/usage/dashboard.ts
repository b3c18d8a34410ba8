/**
 * What the console shows about a tenant's traffic. The overview reads only the
 * hourly rollups (never the raw log), so it costs the same at 1k or 10M requests;
 * the log table pages through RequestLog by (createdAt, id) on indexes that start
 * with tenantId. tenantId is in every where.
 */
import type { Db } from "../../db/client";
import { env } from "../../env";
import { NotFound } from "../../errors";
import { formatAmount } from "../../lib/money";
import { HOUR_MS, LATENCY_BOUNDS_MS, LATENCY_COLUMNS, hourStart } from "./aggregate";
import type { OverviewRange, UsageFilter } from "./schemas";

const RANGE: Record<OverviewRange, { hours: number; bucketHours: number }> = {
  "24h": { hours: 24, bucketHours: 1 },
  "7d": { hours: 24 * 7, bucketHours: 6 },
  "30d": { hours: 24 * 30, bucketHours: 24 },
};

const SUMS = {
  requests: true,
  errors: true,
  cancelled: true,
  promptTokens: true,
  completionTokens: true,
  cachedTokens: true,
  latencySumMs: true,
  costNano: true,
  unpriced: true,
  ...(Object.fromEntries(LATENCY_COLUMNS.map((c) => [c, true])) as Record<(typeof LATENCY_COLUMNS)[number], true>),
} as const;

/**
 * The q-quantile of a latency histogram, interpolated linearly inside its bucket.
 * Past the last bound there is no upper edge: the bound itself is reported.
 */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      const lo = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const hi = LATENCY_BOUNDS_MS[i];
      if (hi === undefined) return lo;
      return Math.round(lo + ((rank - seen) / c) * (hi - lo));
    }
    seen += c;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

export async function tenantOverview(db: Db, tenantId: string, range: OverviewRange, now: Date = new Date()) {
  const { hours, bucketHours } = RANGE[range];
  const end = new Date(hourStart(now).getTime() + HOUR_MS);
  const start = new Date(end.getTime() - hours * HOUR_MS);
  const where = { tenantId, hour: { gte: start, lt: end } };
  const TOP_SUMS = { requests: true, errors: true, promptTokens: true, completionTokens: true, costNano: true, unpriced: true } as const;
  const [byHour, byKey, byModel, spendKeys, spendModels] = await Promise.all([
    db.usageRollup.groupBy({ by: ["hour"], where, _sum: SUMS }),
    db.usageRollup.groupBy({ by: ["apiKeyId"], where, _sum: TOP_SUMS, orderBy: { _sum: { requests: "desc" } }, take: 5 }),
    db.usageRollup.groupBy({ by: ["model"], where, _sum: TOP_SUMS, orderBy: { _sum: { requests: "desc" } }, take: 5 }),
    // top spenders: by cost, ties (and unpriced-only traffic) by requests
    db.usageRollup.groupBy({ by: ["apiKeyId"], where, _sum: TOP_SUMS, orderBy: [{ _sum: { costNano: "desc" } }, { _sum: { requests: "desc" } }], take: 10 }),
    db.usageRollup.groupBy({ by: ["model"], where, _sum: TOP_SUMS, orderBy: [{ _sum: { costNano: "desc" } }, { _sum: { requests: "desc" } }], take: 10 }),
  ]);

  const bucketMs = bucketHours * HOUR_MS;
  const series = Array.from({ length: hours / bucketHours }, (_, i) => ({
    t: new Date(start.getTime() + i * bucketMs).toISOString(),
    requests: 0,
    errors: 0,
    tokens: 0,
    /** nano-units */
    costNano: 0n,
    unpriced: 0,
  }));
  // spend per UTC day over the range (the "by day" view, whatever the chart's bucket)
  const days = new Map<string, { day: string; costNano: bigint; unpriced: number; requests: number }>();
  const totals = { requests: 0, errors: 0, cancelled: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, latencySumMs: 0, unpriced: 0 };
  let totalCost = 0n;
  const histogram = LATENCY_COLUMNS.map(() => 0);
  for (const row of byHour) {
    const s = row._sum;
    const hour = new Date(row.hour);
    const i = Math.floor((hour.getTime() - start.getTime()) / bucketMs);
    const point = series[i];
    const cost = BigInt(s.costNano ?? 0);
    if (point) {
      point.requests += s.requests ?? 0;
      point.errors += s.errors ?? 0;
      point.tokens += Number(s.promptTokens ?? 0) + Number(s.completionTokens ?? 0);
      point.costNano += cost;
      point.unpriced += s.unpriced ?? 0;
    }
    const day = hour.toISOString().slice(0, 10);
    const d = days.get(day) ?? days.set(day, { day, costNano: 0n, unpriced: 0, requests: 0 }).get(day)!;
    d.costNano += cost;
    d.unpriced += s.unpriced ?? 0;
    d.requests += s.requests ?? 0;
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += Number(s[k] ?? 0);
    totalCost += cost;
    LATENCY_COLUMNS.forEach((c, j) => (histogram[j]! += s[c] ?? 0));
  }

  const keyIds = [...new Set([...byKey, ...spendKeys].map((k) => k.apiKeyId).filter(Boolean))];
  const keys = keyIds.length
    ? await db.apiKey.findMany({ where: { tenantId, id: { in: keyIds } }, select: { id: true, name: true, prefix: true } })
    : [];
  const keyName = new Map(keys.map((k) => [k.id, k]));
  type Sums = { _sum: { requests: number | null; errors: number | null; promptTokens: bigint | number | null; completionTokens: bigint | number | null; costNano: bigint | number | null; unpriced: number | null } };
  const top = (r: Sums) => ({
    requests: r._sum.requests ?? 0,
    errors: r._sum.errors ?? 0,
    tokens: Number(r._sum.promptTokens ?? 0) + Number(r._sum.completionTokens ?? 0),
    costNano: BigInt(r._sum.costNano ?? 0),
    unpriced: r._sum.unpriced ?? 0,
  });
  const keyEntry = (k: Sums & { apiKeyId: string }) => ({
    apiKeyId: k.apiKeyId || null,
    name: k.apiKeyId ? (keyName.get(k.apiKeyId)?.name ?? "(deleted key)") : "Console (signed-in users)",
    prefix: keyName.get(k.apiKeyId)?.prefix ?? null,
    ...top(k),
  });

  return {
    range,
    from: start.toISOString(),
    to: end.toISOString(),
    bucketHours,
    currency: env().SPEND_CURRENCY,
    totals: {
      ...totals,
      tokens: totals.promptTokens + totals.completionTokens,
      /** nano-units of `currency`, of the priced requests; `unpriced` requests are not in it */
      costNano: totalCost,
      errorRate: totals.requests ? totals.errors / totals.requests : null,
      /** share of prompt tokens a prompt cache served */
      cachedShare: totals.promptTokens ? totals.cachedTokens / totals.promptTokens : null,
      avgLatencyMs: totals.requests ? Math.round(totals.latencySumMs / totals.requests) : null,
      p50LatencyMs: histogramQuantile(histogram, 0.5),
      p95LatencyMs: histogramQuantile(histogram, 0.95),
    },
    series,
    spendByDay: [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1)),
    topKeys: byKey.map(keyEntry),
    topModels: byModel.map((m) => ({ model: m.model, ...top(m) })),
    spendByKey: spendKeys.map(keyEntry),
    spendByModel: spendModels.map((m) => ({ model: m.model, ...top(m) })),
  };
}

/** Platform admins: spend per tenant over a range, dearest first (rollups only). */
export async function platformSpend(db: Db, range: OverviewRange, now: Date = new Date()) {
  const { hours } = RANGE[range];
  const end = new Date(hourStart(now).getTime() + HOUR_MS);
  const start = new Date(end.getTime() - hours * HOUR_MS);
  const rows = await db.usageRollup.groupBy({
    by: ["tenantId"],
    where: { hour: { gte: start, lt: end } },
    _sum: { requests: true, promptTokens: true, completionTokens: true, costNano: true, unpriced: true },
    orderBy: [{ _sum: { costNano: "desc" } }, { _sum: { requests: "desc" } }],
  });
  const tenants = rows.length ? await db.tenant.findMany({ where: { id: { in: rows.map((r) => r.tenantId) } }, select: { id: true, slug: true, name: true } }) : [];
  const byId = new Map(tenants.map((t) => [t.id, t]));
  const list = rows.map((r) => ({
    tenantId: r.tenantId,
    slug: byId.get(r.tenantId)?.slug ?? null,
    name: byId.get(r.tenantId)?.name ?? "(deleted tenant)",
    requests: r._sum.requests ?? 0,
    tokens: Number(r._sum.promptTokens ?? 0) + Number(r._sum.completionTokens ?? 0),
    costNano: BigInt(r._sum.costNano ?? 0),
    unpriced: r._sum.unpriced ?? 0,
  }));
  return {
    range,
    from: start.toISOString(),
    to: end.toISOString(),
    currency: env().SPEND_CURRENCY,
    totalCostNano: list.reduce((a, t) => a + t.costNano, 0n),
    unpriced: list.reduce((a, t) => a + t.unpriced, 0),
    tenants: list,
  };
}
export type TenantOverview = Awaited<ReturnType<typeof tenantOverview>>;

const logSelect = {
  id: true,
  requestId: true,
  apiKeyId: true,
  userId: true,
  endpoint: true,
  modelRequested: true,
  modelUsed: true,
  status: true,
  httpStatus: true,
  errorCode: true,
  stream: true,
  promptTokens: true,
  completionTokens: true,
  cachedTokens: true,
  toolsOffered: true,
  toolCalls: true,
  ttftMs: true,
  latencyMs: true,
  costNano: true,
  createdAt: true,
} as const;

function filterWhere(tenantId: string, f: UsageFilter) {
  return {
    tenantId,
    ...(f.apiKeyId ? { apiKeyId: f.apiKeyId } : {}),
    ...(f.model ? { modelRequested: f.model } : {}),
    ...(f.status ? { status: f.status } : {}),
    // A prefix as a range, so the (tenantId, requestId) index serves it (LIKE would not).
    ...(f.requestId ? { requestId: { gte: f.requestId, lt: `${f.requestId}\uffff` } } : {}),
  };
}

function encodeCursor(row: { createdAt: Date; id: string }) {
  return `${row.createdAt.getTime().toString(36)}.${row.id}`;
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_]{1,64})$/.exec(cursor);
  if (!m) return null;
  const t = parseInt(m[1]!, 36);
  return Number.isFinite(t) ? { createdAt: new Date(t), id: m[2]! } : null;
}

/** Newest first, a page at a time; the cursor is opaque to callers. */
export async function listUsage(db: Db, tenantId: string, input: { filter: UsageFilter; cursor?: string; limit: number }) {
  const f = input.filter;
  const cursor = input.cursor ? decodeCursor(input.cursor) : null;
  const upper = cursor ? cursor.createdAt : f.to;
  const rows = await db.requestLog.findMany({
    where: {
      ...filterWhere(tenantId, f),
      createdAt: {
        ...(f.from ? { gte: f.from } : {}),
        ...(upper ? (cursor ? { lte: upper } : { lt: upper }) : {}),
      },
      ...(cursor ? { NOT: { createdAt: cursor.createdAt, id: { gte: cursor.id } } } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: input.limit + 1,
    select: logSelect,
  });
  const items = rows.slice(0, input.limit);
  return { items, nextCursor: rows.length > input.limit ? encodeCursor(items[items.length - 1]!) : null, currency: env().SPEND_CURRENCY };
}

export async function getUsageRow(db: Db, tenantId: string, id: string) {
  const row = await db.requestLog.findFirst({ where: { tenantId, id } });
  if (!row) throw NotFound("Request");
  const [key, price] = await Promise.all([
    row.apiKeyId ? db.apiKey.findFirst({ where: { tenantId, id: row.apiKeyId }, select: { name: true, prefix: true } }) : null,
    // prices are platform data (not tenant-owned): the one that costed this row, as it was
    row.priceId ? db.price.findUnique({ where: { id: row.priceId } }) : null,
  ]);
  return {
    ...row,
    apiKey: key,
    currency: env().SPEND_CURRENCY,
    price: price && {
      model: price.model,
      perBackend: price.backendId !== "",
      input: formatAmount(price.inputNanoPerM),
      cachedInput: price.cachedInputNanoPerM === null ? null : formatAmount(price.cachedInputNanoPerM),
      output: formatAmount(price.outputNanoPerM),
      perRequest: formatAmount(price.requestNano),
      effectiveFrom: price.effectiveFrom,
    },
  };
}

const CSV_COLUMNS = [
  "createdAt",
  "requestId",
  "endpoint",
  "modelRequested",
  "modelUsed",
  "apiKeyId",
  "userId",
  "status",
  "httpStatus",
  "errorCode",
  "stream",
  "promptTokens",
  "completionTokens",
  "cachedTokens",
  "toolsOffered",
  "toolCalls",
  "ttftMs",
  "latencyMs",
  "cost",
  "currency",
] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = v instanceof Date ? v.toISOString() : String(v);
  // Quote what needs it, and defuse spreadsheet formulas in text a caller chose.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === "string" ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * The filtered log as CSV, produced page by page (keyset pagination), so an export
 * of a million rows holds one page in memory at a time.
 */
export async function* usageCsv(db: Db, tenantId: string, filter: UsageFilter, pageSize = 2000): AsyncGenerator<string> {
  const currency = env().SPEND_CURRENCY;
  yield `${CSV_COLUMNS.join(",")}\n`;
  let cursor: string | undefined;
  for (;;) {
    const page = await listUsage(db, tenantId, { filter, cursor, limit: pageSize });
    if (page.items.length) {
      // cost as an exact decimal in the currency; an unpriced row says so (an empty cell would read as 0)
      const out = page.items.map((r) => ({ ...r, cost: r.costNano === null ? "unpriced" : formatAmount(r.costNano, 2), currency }));
      yield out.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(",")).join("\n") + "\n";
    }
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
}
