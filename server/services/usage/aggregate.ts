/**
 * Pure helpers of the usage writer (no I/O, unit-tested): turning a caller's
 * UsageRecord into a row the database will always accept, and summing a batch of
 * rows into one increment per UsageRollup bucket.
 */
import { newId } from "../../lib/ids";
import { ERROR_MESSAGE_MAX, type UsageRecord, type UsageStatus } from "./types";

/** Largest value of a PostgreSQL INTEGER column; anything bigger would fail the whole batch. */
export const INT4_MAX = 2_147_483_647;

export const HOUR_MS = 3_600_000;
const STATUSES: ReadonlySet<string> = new Set<UsageStatus>(["ok", "error", "cancelled"]);

/** A RequestLog row exactly as the writer inserts it. */
export interface RequestLogRow {
  id: string;
  requestId: string;
  tenantId: string;
  apiKeyId: string | null;
  userId: string | null;
  endpoint: string;
  modelRequested: string;
  modelUsed: string | null;
  backendId: string | null;
  policyId: string | null;
  routeReason: string | null;
  routeScore: number | null;
  attempts: string | null;
  status: UsageStatus;
  httpStatus: number;
  errorCode: string | null;
  errorMessage: string | null;
  stream: boolean;
  cached: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  toolsOffered: number;
  toolCalls: number;
  ttftMs: number | null;
  latencyMs: number;
  /** nano-units; null = unpriced */
  costNano: number | null;
  priceId: string | null;
  createdAt: Date;
}

function int(v: unknown, max = INT4_MAX): number {
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n)) return 0;
  return Math.min(max, Math.max(0, Math.round(n)));
}

/** A cost as the row stores it: a safe integer of nano-units (9e15 nano = 9 million per request), or null (unpriced). */
function cost(r: UsageRecord): number | null {
  const v = r.costNano;
  if (v === undefined) return r.modelUsed == null ? 0 : null;
  if (v === null) return null;
  const n = typeof v === "bigint" ? Number(v) : v;
  if (!Number.isSafeInteger(n) || n < 0) return null;
  return n;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : String(v);
}

function optStr(v: unknown): string | null {
  return v == null || v === "" ? null : str(v);
}

/** Cuts to `max` UTF-16 units without leaving half a surrogate pair at the end. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

function attemptsJson(v: UsageRecord["attempts"]): string | null {
  if (v == null || v.length === 0) return null;
  try {
    return JSON.stringify(v);
  } catch {
    return null; // a cyclic or BigInt-bearing value: the routing detail is lost, the row is not
  }
}

/**
 * A defensive copy of the record that the database cannot refuse: counts become
 * non-negative integers within INTEGER range, an unknown status becomes "error",
 * a bad date becomes now, errorMessage is cut to ERROR_MESSAGE_MAX. The types
 * already rule most of this out; the point is that one caller's NaN must never
 * turn into a batch that fails forever.
 */
export function toRow(r: UsageRecord, now: () => Date = () => new Date()): RequestLogRow {
  const createdAt = r.createdAt instanceof Date && !Number.isNaN(r.createdAt.getTime()) ? r.createdAt : now();
  const status = STATUSES.has(r.status) ? r.status : "error";
  const message = optStr(r.errorMessage);
  const id = typeof r.id === "string" && r.id !== "" ? r.id : newId("req");
  return {
    id,
    requestId: typeof r.requestId === "string" && r.requestId !== "" ? r.requestId : id,
    tenantId: str(r.tenantId),
    apiKeyId: optStr(r.apiKeyId),
    userId: optStr(r.userId),
    endpoint: str(r.endpoint),
    modelRequested: str(r.modelRequested),
    modelUsed: optStr(r.modelUsed),
    backendId: optStr(r.backendId),
    policyId: optStr(r.policyId),
    routeReason: optStr(r.routeReason),
    routeScore: typeof r.routeScore === "number" && Number.isFinite(r.routeScore) ? r.routeScore : null,
    attempts: attemptsJson(r.attempts),
    status,
    httpStatus: int(r.httpStatus, 999),
    errorCode: optStr(r.errorCode),
    errorMessage: message === null ? null : truncate(message, ERROR_MESSAGE_MAX),
    stream: r.stream === true,
    cached: r.cached === true,
    promptTokens: int(r.promptTokens),
    completionTokens: int(r.completionTokens),
    // a cache can serve at most the whole prompt
    cachedTokens: Math.min(int(r.cachedTokens ?? 0), int(r.promptTokens)),
    toolsOffered: int(r.toolsOffered ?? 0),
    toolCalls: int(r.toolCalls ?? 0),
    ttftMs: r.ttftMs == null ? null : int(r.ttftMs),
    latencyMs: int(r.latencyMs),
    costNano: cost(r),
    priceId: optStr(r.priceId),
    createdAt,
  };
}

/** Start of the UTC hour that contains `d`. */
export function hourStart(d: Date): Date {
  return new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS);
}

/** Upper bounds (ms) of the rollup latency histogram's buckets; the last column counts the rest. */
export const LATENCY_BOUNDS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;
export const LATENCY_COLUMNS = ["lat50", "lat100", "lat250", "lat500", "lat1000", "lat2500", "lat5000", "lat10000", "lat30000", "latInf"] as const;
export type LatencyColumn = (typeof LATENCY_COLUMNS)[number];

export function latencyColumn(ms: number): LatencyColumn {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
  return LATENCY_COLUMNS[i === -1 ? LATENCY_COLUMNS.length - 1 : i]!;
}

/** One UsageRollup bucket's increments from one batch. */
export interface RollupDelta extends Record<LatencyColumn, number> {
  tenantId: string;
  /** "" for requests without an API key */
  apiKeyId: string;
  /** modelUsed, or modelRequested when no model served the request */
  model: string;
  hour: Date;
  requests: number;
  errors: number;
  cancelled: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  latencySumMs: number;
  ttftSumMs: number;
  ttftCount: number;
  /** sum of the priced rows' costs, nano-units */
  costNano: number;
  /** rows without a price */
  unpriced: number;
}

export type RollupCounts = Omit<RollupDelta, "tenantId" | "apiKeyId" | "model" | "hour">;

/**
 * Sums rows per tenant × key × model × UTC hour. The result is sorted by bucket so
 * every writer (every replica) updates rollup rows in the same order, which keeps
 * concurrent transactions on PostgreSQL from deadlocking each other.
 */
export function aggregateRollups(rows: readonly RequestLogRow[]): RollupDelta[] {
  const groups = new Map<string, RollupDelta>();
  for (const r of rows) {
    const apiKeyId = r.apiKeyId ?? "";
    const model = r.modelUsed ?? r.modelRequested;
    const hour = hourStart(r.createdAt);
    // \u0000 cannot appear in ids or model names typed by people, so keys can't collide
    const key = `${r.tenantId}\u0000${apiKeyId}\u0000${model}\u0000${hour.toISOString()}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        tenantId: r.tenantId,
        apiKeyId,
        model,
        hour,
        requests: 0,
        errors: 0,
        cancelled: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedTokens: 0,
        latencySumMs: 0,
        ttftSumMs: 0,
        ttftCount: 0,
        costNano: 0,
        unpriced: 0,
        ...(Object.fromEntries(LATENCY_COLUMNS.map((c) => [c, 0])) as Record<LatencyColumn, number>),
      };
      groups.set(key, g);
    }
    g.requests++;
    if (r.status === "error") g.errors++;
    if (r.status === "cancelled") g.cancelled++;
    g.promptTokens += r.promptTokens;
    g.completionTokens += r.completionTokens;
    g.cachedTokens += r.cachedTokens;
    g.latencySumMs += r.latencyMs;
    g[latencyColumn(r.latencyMs)]++;
    if (r.costNano === null) g.unpriced++;
    else g.costNano += r.costNano;
    if (r.ttftMs !== null) {
      g.ttftSumMs += r.ttftMs;
      g.ttftCount++;
    }
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}
