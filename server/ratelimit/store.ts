/**
 * What a limiter backend must do — in-process (memory-store.ts) or Redis
 * (redis-store.ts, the same algorithm as Lua scripts). Both implement exactly the
 * semantics below, and one integration test runs the same cases against both.
 *
 * admit() evaluates every check of one request together and either records all of
 * them or none (all-or-nothing is what keeps a key limit from eating its tenant's
 * quota on a request the tenant limit then refuses):
 *
 *  - window  sliding 60 s window in 1 s buckets: passes when sum + cost <= limit; on
 *            admission `cost` is added to the bucket of the current second. A bucket
 *            leaves the window 60 s after its second began.
 *  - lease   concurrency: passes when active leases < limit; on admission a lease
 *            named by the request id is added. In Redis it expires after leaseTtlMs
 *            unless renewed (so a crashed replica's leases free themselves); in-process
 *            it lasts until settled (the process is the only holder).
 *  - budget  monthly counter: passes while used < limit (the request that crosses the
 *            budget is the last one admitted); on admission `cost` is added. A counter
 *            that doesn't exist yet answers "seed": the caller computes the month's
 *            usage so far from the database and calls seedBudget, then retries.
 */
export const WINDOW_SECONDS = 60;

export type Check =
  | { type: "window"; key: string; limit: number; cost: number }
  | { type: "lease"; key: string; limit: number }
  | { type: "budget"; key: string; limit: number; cost: number };

export interface CheckResult {
  /** usage before this request (window: sum of live buckets; lease: active leases; budget: counter) */
  used: number;
  ok: boolean;
  /** rejected windows: ms until enough of the window expires for this request to pass */
  retryMs: number;
  /** window: ms until the whole window is empty (0 when it is) */
  resetMs: number;
}

export type AdmitOutcome =
  | { kind: "done"; admitted: boolean; /** index of the first failing check, -1 when admitted */ failed: number; bucket: number; results: CheckResult[] }
  | { kind: "seed"; index: number };

export type SettleOp =
  /** take `reserved` back out of the bucket it went into (if still in the window) and add `actual` now */
  | { type: "window"; key: string; bucket: number; reserved: number; actual: number }
  | { type: "lease"; key: string }
  /** correct the counter by actual − reserved (skipped if the counter is gone: it will be re-seeded) */
  | { type: "budget"; key: string; delta: number };

export interface LimiterStore {
  readonly backend: "memory" | "redis";
  /** whether leases expire unless renewed (Redis: yes; in-process leases die with the process anyway) */
  readonly renewsLeases: boolean;
  admit(id: string, checks: Check[], leaseTtlMs: number): Promise<AdmitOutcome>;
  settle(id: string, ops: SettleOp[]): Promise<void>;
  /** Sets a budget counter unless another caller set it first. */
  seedBudget(key: string, used: number, ttlMs: number): Promise<void>;
  renewLeases(leases: { key: string; id: string }[], ttlMs: number): Promise<void>;
  /** The current sum of a window (tests, diagnostics). */
  windowUsage(key: string): Promise<number>;
  budgetUsage(key: string): Promise<number | null>;
  /** Whether the backend answers right now (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** For the reset/retry arithmetic shared by both stores: buckets oldest first. */
export function windowTimes(
  buckets: [second: number, value: number][],
  nowMs: number,
  sum: number,
  cost: number,
  limit: number,
): { retryMs: number; resetMs: number } {
  buckets.sort((a, b) => a[0] - b[0]);
  const expiry = (second: number) => Math.max(0, (second + WINDOW_SECONDS) * 1000 - nowMs);
  const resetMs = buckets.length ? expiry(buckets[buckets.length - 1]![0]) : 0;
  let retryMs = 0;
  const need = sum + cost - limit;
  if (need > 0) {
    let freed = 0;
    retryMs = resetMs;
    for (const [second, value] of buckets) {
      freed += value;
      if (freed >= need) {
        retryMs = expiry(second);
        break;
      }
    }
  }
  return { retryMs, resetMs };
}
