/**
 * Reads of the usage log for tests and (later) dashboards. Always scoped to one
 * tenant: tenantId is in every where.
 */
import type { Db } from "../../db/client";

export interface ListRequestLogsInput {
  /** id of the last row of the previous page */
  cursor?: string;
  limit: number;
}

/** A tenant's request log, newest first (ids sort by creation time), a page at a time. */
export async function listRequestLogs(db: Db, tenantId: string, input: ListRequestLogsInput) {
  const limit = Math.max(1, Math.min(1000, Math.floor(input.limit)));
  const rows = await db.requestLog.findMany({
    where: { tenantId, ...(input.cursor ? { id: { lt: input.cursor } } : {}) },
    orderBy: { id: "desc" },
    take: limit + 1,
  });
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

export interface RollupTotals {
  requests: number;
  errors: number;
  cancelled: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  latencySumMs: number;
  ttftSumMs: number;
  ttftCount: number;
  /** nano-units of SPEND_CURRENCY, of the priced requests */
  costNano: bigint;
  /** requests without a price (their cost is not in costNano) */
  unpriced: number;
  /** latencySumMs / requests, null without requests */
  avgLatencyMs: number | null;
  /** ttftSumMs / ttftCount, null when no request had a first token */
  avgTtftMs: number | null;
}

/**
 * Sums a tenant's UsageRollup rows whose hour starts in [from, to) — hours are
 * UTC and whole, so pass hour boundaries to get exact totals.
 */
export async function rollupTotals(db: Db, tenantId: string, from: Date, to: Date): Promise<RollupTotals> {
  const agg = await db.usageRollup.aggregate({
    where: { tenantId, hour: { gte: from, lt: to } },
    _sum: {
      requests: true,
      errors: true,
      cancelled: true,
      promptTokens: true,
      completionTokens: true,
      cachedTokens: true,
      latencySumMs: true,
      ttftSumMs: true,
      ttftCount: true,
      costNano: true,
      unpriced: true,
    },
  });
  const s = agg._sum;
  const t = {
    requests: s.requests ?? 0,
    errors: s.errors ?? 0,
    cancelled: s.cancelled ?? 0,
    promptTokens: Number(s.promptTokens ?? 0),
    completionTokens: Number(s.completionTokens ?? 0),
    cachedTokens: Number(s.cachedTokens ?? 0),
    latencySumMs: Number(s.latencySumMs ?? 0),
    ttftSumMs: Number(s.ttftSumMs ?? 0),
    ttftCount: s.ttftCount ?? 0,
    costNano: BigInt(s.costNano ?? 0),
    unpriced: s.unpriced ?? 0,
  };
  return {
    ...t,
    avgLatencyMs: t.requests ? t.latencySumMs / t.requests : null,
    avgTtftMs: t.ttftCount ? t.ttftSumMs / t.ttftCount : null,
  };
}
