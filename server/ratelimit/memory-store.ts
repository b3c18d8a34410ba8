/**
 * The in-process limiter backend: the single-replica default (no REDIS_URL). The
 * same semantics as the Redis scripts (see store.ts); everything is synchronous, so
 * one admit() is atomic by construction.
 */
import { type AdmitOutcome, type Check, type CheckResult, type LimiterStore, type SettleOp, WINDOW_SECONDS, windowTimes } from "./store";

export class MemoryStore implements LimiterStore {
  readonly backend = "memory" as const;
  readonly renewsLeases = false;
  /** window key → (second → sum) */
  private readonly windows = new Map<string, Map<number, number>>();
  /** lease key → (request id → expiry ms) */
  private readonly leases = new Map<string, Map<string, number>>();
  private readonly budgets = new Map<string, { used: number; expiresAt: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  private liveWindow(key: string, nowSec: number): Map<number, number> | undefined {
    const w = this.windows.get(key);
    if (!w) return undefined;
    for (const second of w.keys()) if (second <= nowSec - WINDOW_SECONDS) w.delete(second);
    if (w.size === 0) {
      this.windows.delete(key);
      return undefined;
    }
    return w;
  }

  private liveLeases(key: string, nowMs: number): Map<string, number> | undefined {
    const l = this.leases.get(key);
    if (!l) return undefined;
    for (const [id, exp] of l) if (exp <= nowMs) l.delete(id);
    if (l.size === 0) {
      this.leases.delete(key);
      return undefined;
    }
    return l;
  }

  private budget(key: string, nowMs: number) {
    const b = this.budgets.get(key);
    if (b && b.expiresAt <= nowMs) {
      this.budgets.delete(key);
      return undefined;
    }
    return b;
  }

  async admit(id: string, checks: Check[], _leaseTtlMs: number): Promise<AdmitOutcome> {
    const nowMs = this.clock();
    const nowSec = Math.floor(nowMs / 1000);
    const results: CheckResult[] = [];
    let failed = -1;
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      let r: CheckResult;
      if (c.type === "window") {
        const w = this.liveWindow(c.key, nowSec);
        const buckets: [number, number][] = w ? [...w.entries()] : [];
        const sum = buckets.reduce((a, [, v]) => a + v, 0);
        r = { used: sum, ok: sum + c.cost <= c.limit, ...windowTimes(buckets, nowMs, sum, c.cost, c.limit) };
      } else if (c.type === "lease") {
        const n = this.liveLeases(c.key, nowMs)?.size ?? 0;
        r = { used: n, ok: n + 1 <= c.limit, retryMs: 1000, resetMs: 0 };
      } else {
        const b = this.budget(c.key, nowMs);
        if (!b) return { kind: "seed", index: i };
        r = { used: b.used, ok: b.used < c.limit, retryMs: 0, resetMs: 0 };
      }
      results.push(r);
      if (!r.ok && failed < 0) failed = i;
    }
    if (failed < 0) {
      for (const c of checks) {
        if (c.type === "window") {
          let w = this.windows.get(c.key);
          if (!w) this.windows.set(c.key, (w = new Map()));
          w.set(nowSec, (w.get(nowSec) ?? 0) + c.cost);
        } else if (c.type === "lease") {
          let l = this.leases.get(c.key);
          if (!l) this.leases.set(c.key, (l = new Map()));
          // no expiry: an in-process lease cannot outlive its request's process, and nothing renews it
          l.set(id, Number.POSITIVE_INFINITY);
        } else {
          this.budget(c.key, nowMs)!.used += c.cost;
        }
      }
    }
    return { kind: "done", admitted: failed < 0, failed, bucket: nowSec, results };
  }

  async settle(id: string, ops: SettleOp[]): Promise<void> {
    const nowMs = this.clock();
    const nowSec = Math.floor(nowMs / 1000);
    for (const op of ops) {
      if (op.type === "window") {
        const w = this.liveWindow(op.key, nowSec);
        if (w && op.reserved !== 0 && op.bucket > nowSec - WINDOW_SECONDS && w.has(op.bucket)) {
          const v = w.get(op.bucket)! - op.reserved;
          if (v > 0) w.set(op.bucket, v);
          else w.delete(op.bucket);
        }
        if (op.actual > 0) {
          let live = this.windows.get(op.key);
          if (!live) this.windows.set(op.key, (live = new Map()));
          live.set(nowSec, (live.get(nowSec) ?? 0) + op.actual);
        }
      } else if (op.type === "lease") {
        this.leases.get(op.key)?.delete(id);
      } else {
        const b = this.budget(op.key, nowMs);
        if (b) b.used += op.delta;
      }
    }
  }

  async seedBudget(key: string, used: number, ttlMs: number): Promise<void> {
    const nowMs = this.clock();
    if (!this.budget(key, nowMs)) this.budgets.set(key, { used, expiresAt: nowMs + ttlMs });
  }

  async renewLeases(): Promise<void> {}

  async windowUsage(key: string): Promise<number> {
    const w = this.liveWindow(key, Math.floor(this.clock() / 1000));
    return w ? [...w.values()].reduce((a, b) => a + b, 0) : 0;
  }

  async budgetUsage(key: string): Promise<number | null> {
    return this.budget(key, this.clock())?.used ?? null;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
