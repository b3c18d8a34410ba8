/**
 * Admission control for /api/v1: per tenant and per API key, requests per minute,
 * tokens per minute, concurrent requests and a monthly token budget. The /v1
 * wrapper (server/api/v1/handler.ts) calls `admit` once per request, after the
 * body is parsed, and `settle` exactly once when the request ends, however it ends.
 *
 * Tokens are reserved up front (an estimate: prompt size + max tokens, see
 * estimate.ts) and settled with the real count at the end, so a stream cannot
 * overrun TPM or the budget by more than one request's estimate error, and a
 * cancelled or failed request pays only for what it used.
 *
 * State lives in a LimiterStore: Redis when REDIS_URL is set (every replica enforces
 * one limit), else this process. When Redis is unreachable RATE_LIMIT_FAIL_MODE
 * decides: "open" admits without limits, "closed" answers 503; either way it is
 * logged and counted (switchyard_ratelimit_backend_up, …_backend_errors_total).
 * Monthly budget counters are seeded from UsageRollup (this month's sums) the first
 * time a month's counter is needed — after a restart, or when Redis lost it.
 *
 * What a caller is told about its limits (remaining requests and tokens, reset times,
 * money left, budget warnings) is an AdmissionReport, on the admission and on a
 * rejection (LimitRejected); each wire dialect renders it as headers
 * (server/api/v1/rate-limit-headers.ts: OpenAI's x-ratelimit-*).
 */
import type { LimitSet, Principal } from "../auth/principal";
import { type Db, db as defaultDb } from "../db/client";
import { env } from "../env";
import { AppError, isAppError } from "../errors";
import { type LimiterStatus, metrics, registerCollector } from "../metrics/metrics";
import { processSlot } from "../runtime/registry";
import { formatAmount } from "../lib/money";
import { MemoryStore } from "./memory-store";
import { RedisStore, RedisUnavailable } from "./redis-store";
import { type Check, type CheckResult, type LimiterStore, type SettleOp, WINDOW_SECONDS } from "./store";
import { logger } from "../log/logger";

export type LimitKind = "rpm" | "tpm" | "concurrency" | "budget" | "spend" | "spend_daily";
export type LimitScope = "key" | "tenant";

export const DEFAULT_BUDGET_WARN_PERCENT = 80;
/** A lease outlives a crashed replica by at most this long; live requests renew theirs every third of it. */
export const LEASE_TTL_MS = 60_000;

/** A rate window after this request: the tightest of the key's and the tenant's. */
export interface WindowReport {
  limit: number;
  remaining: number;
  /** until the window has room again (a window just charged: until this second's bucket leaves it) */
  resetMs: number;
}

/** The tightest money budget (tenant or key, monthly or daily), in nano-units of SPEND_CURRENCY. */
export interface SpendReport {
  limitNano: number;
  remainingNano: number;
  period: "day" | "month";
}

/** What the limiter tells the caller about its limits; only the limits that apply are present. */
export interface AdmissionReport {
  /** requests per minute */
  requests?: WindowReport;
  /** tokens per minute */
  tokens?: WindowReport;
  spend?: SpendReport;
  /** one note per budget past the tenant's warning threshold (budgetWarnPercent) */
  budgetWarnings: string[];
}

/** A 429 from the limiter: the error, and the report of the limits as they stood. */
export class LimitRejected extends AppError {
  readonly limitReport: AdmissionReport;
  constructor(err: AppError, report: AdmissionReport) {
    super(err.kind, err.message, { code: err.code, retryAfter: err.retryAfter });
    this.limitReport = report;
  }
}

/**
 * The report a limiter rejection carries, or null. Duck-typed, like isAppError: the
 * process-wide limiter may have been built by another bundle's copy of this module.
 */
export function limitReportOf(e: unknown): AdmissionReport | null {
  if (!isAppError(e)) return null;
  return (e as { limitReport?: AdmissionReport }).limitReport ?? null;
}

export interface Admission {
  report: AdmissionReport;
  /**
   * Charges the real token count and cost (nano-units; null = unpriced, charged 0) and frees
   * the concurrency slot. Idempotent; never throws.
   */
  settle(tokens: number, costNano?: bigint | number | null): void;
}

interface Planned {
  check: Check;
  kind: LimitKind;
  scope: LimitScope;
  /** budgets: the period the counter belongs to (a month, or a day for spend_daily), and whose usage seeds it */
  seed?: { tenantId: string; apiKeyId: string | null; monthStart: Date; ttlMs: number };
}

const DAY_MS = 86_400_000;

export function dayStartUtc(now: number): Date {
  return new Date(Math.floor(now / DAY_MS) * DAY_MS);
}

/** Which counters hold money (nano-units) rather than tokens. */
const MONEY: ReadonlySet<LimitKind> = new Set<LimitKind>(["spend", "spend_daily"]);
const BUDGETS: ReadonlySet<LimitKind> = new Set<LimitKind>(["budget", "spend", "spend_daily"]);

export interface LimiterLogger {
  warn(message: string): void;
  error(message: string): void;
}

export interface LimiterOptions {
  store: LimiterStore;
  failMode: "open" | "closed";
  db?: () => Db;
  leaseTtlMs?: number;
  logger?: LimiterLogger;
}

const consoleLogger: LimiterLogger = {
  warn: (m) => logger("ratelimit").warn(m),
  error: (m) => logger("ratelimit").error(m),
};

const noop = (): Admission => ({ report: { budgetWarnings: [] }, settle: () => {} });

export function monthStartUtc(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export function nextMonthStartUtc(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

const SCOPE_NAME: Record<LimitScope, string> = { key: "API key", tenant: "tenant" };

/** Prefix of every key a tenant's limits use; the braces are a Redis Cluster hash tag. */
const keyPrefix = (tenantId: string) => `sy:{${tenantId}}`;

export class Limiter {
  readonly store: LimiterStore;
  readonly failMode: "open" | "closed";
  private readonly getDb: () => Db;
  private readonly leaseTtlMs: number;
  private readonly log: LimiterLogger;
  private up = true;
  private lastDownLog = 0;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly seeding = new Map<string, Promise<void>>();
  /** live leases, renewed while their request runs (Redis only) */
  private readonly leases = new Map<string, { key: string; id: string }[]>();
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly warned = new Set<string>();

  constructor(opts: LimiterOptions) {
    this.store = opts.store;
    this.failMode = opts.failMode;
    this.getDb = opts.db ?? defaultDb;
    this.leaseTtlMs = opts.leaseTtlMs ?? LEASE_TTL_MS;
    this.log = opts.logger ?? consoleLogger;
  }

  status(): LimiterStatus {
    return { backend: this.store.backend, failMode: this.failMode, up: this.up };
  }

  /** The keys a principal's checks use (tests and diagnostics read usage through them). */
  static key(tenantId: string, kind: LimitKind, scope: LimitScope, id: string, month?: string): string {
    return `${keyPrefix(tenantId)}:${kind}:${scope}:${id}${month ? `:${month}` : ""}`;
  }

  private plan(p: Principal, estimate: number, costEstimate: number, now: number): Planned[] {
    const scopes: { scope: LimitScope; id: string; set: LimitSet }[] = [];
    if (p.limits.key && p.apiKeyId) scopes.push({ scope: "key", id: p.apiKeyId, set: p.limits.key });
    scopes.push({ scope: "tenant", id: p.tenantId, set: p.limits.tenant });
    const budgets: Planned[] = [];
    const windows: Planned[] = [];
    const leases: Planned[] = [];
    const monthStart = monthStartUtc(now);
    const month = monthStart.toISOString().slice(0, 7);
    const dayStart = dayStartUtc(now);
    const day = dayStart.toISOString().slice(0, 10);
    for (const { scope, id, set } of scopes) {
      const key = (kind: LimitKind, m?: string) => Limiter.key(p.tenantId, kind, scope, id, m);
      if (set.monthlyTokenBudget !== null) {
        budgets.push({
          check: { type: "budget", key: key("budget", month), limit: set.monthlyTokenBudget, cost: estimate },
          kind: "budget",
          scope,
          // keep a finished month's counter a few days for late settlements, then let it go
          seed: {
            tenantId: p.tenantId,
            apiKeyId: scope === "key" ? id : null,
            monthStart,
            ttlMs: nextMonthStartUtc(now).getTime() - now + 3 * 86_400_000,
          },
        });
      }
      if (set.monthlySpendBudgetNano != null) {
        budgets.push({
          check: { type: "budget", key: key("spend", month), limit: set.monthlySpendBudgetNano, cost: costEstimate },
          kind: "spend",
          scope,
          seed: {
            tenantId: p.tenantId,
            apiKeyId: scope === "key" ? id : null,
            monthStart,
            ttlMs: nextMonthStartUtc(now).getTime() - now + 3 * DAY_MS,
          },
        });
      }
      if (set.dailySpendBudgetNano != null) {
        budgets.push({
          check: { type: "budget", key: key("spend_daily", day), limit: set.dailySpendBudgetNano, cost: costEstimate },
          kind: "spend_daily",
          scope,
          seed: { tenantId: p.tenantId, apiKeyId: scope === "key" ? id : null, monthStart: dayStart, ttlMs: dayStart.getTime() + 2 * DAY_MS - now },
        });
      }
      if (set.rpm !== null) windows.push({ check: { type: "window", key: key("rpm"), limit: set.rpm, cost: 1 }, kind: "rpm", scope });
      if (set.tpm !== null) {
        // an estimate above the limit could never pass; capped, it passes on an empty window
        windows.push({ check: { type: "window", key: key("tpm"), limit: set.tpm, cost: Math.min(estimate, set.tpm) }, kind: "tpm", scope });
      }
      if (set.maxConcurrent !== null) {
        leases.push({ check: { type: "lease", key: key("concurrency"), limit: set.maxConcurrent }, kind: "concurrency", scope });
      }
    }
    // budget first: when it is used up, that is the answer worth giving (it lasts until next month)
    return [...budgets, ...windows, ...leases];
  }

  /**
   * Admits a request or throws (429 rate_limited / budget_exceeded, or 503 when the
   * backend is down and the fail mode is closed). `id` names the request's lease.
   */
  async admit(p: Principal, req: { id: string; estimate: number; /** nano-units to reserve against money budgets */ costEstimate?: number }): Promise<Admission> {
    const now = Date.now();
    const planned = this.plan(p, Math.max(0, Math.ceil(req.estimate)), Math.max(0, Math.ceil(req.costEstimate ?? 0)), now);
    if (planned.length === 0) return noop();
    const checks = planned.map((x) => x.check);
    let outcome;
    try {
      for (let attempt = 0; ; attempt++) {
        outcome = await this.store.admit(req.id, checks, this.leaseTtlMs);
        if (outcome.kind === "done") break;
        if (attempt >= 3) throw new Error("budget counter vanished while seeding it three times");
        await this.seed(planned[outcome.index]!);
      }
      this.markUp();
    } catch (e) {
      if (!(e instanceof RedisUnavailable)) throw e;
      return this.backendDown(e);
    }
    const { results, admitted, failed, bucket } = outcome;
    const report = this.report(planned, results, admitted, now);
    if (!admitted) {
      const f = planned[failed]!;
      metrics().rateLimitRejections.inc({ tenant: p.tenantSlug, scope: f.scope, limit: f.kind });
      throw new LimitRejected(this.rejection(f, results[failed]!, now), report);
    }
    report.budgetWarnings = this.budgetWarnings(p, planned, results);

    const leases = planned.filter((x) => x.kind === "concurrency").map((x) => ({ key: x.check.key, id: req.id }));
    if (leases.length && this.store.renewsLeases) this.trackLeases(req.id, leases);
    let settled = false;
    return {
      report,
      settle: (tokens: number, costNano?: bigint | number | null) => {
        if (settled) return;
        const cost = costNano == null ? 0 : Number(costNano);
        settled = true;
        this.leases.delete(req.id);
        const ops: SettleOp[] = [];
        for (const x of planned) {
          const c = x.check;
          if (x.kind === "tpm" && c.type === "window") ops.push({ type: "window", key: c.key, bucket, reserved: c.cost, actual: tokens });
          else if (c.type === "lease") ops.push({ type: "lease", key: c.key });
          else if (c.type === "budget") {
            const actual = MONEY.has(x.kind) ? cost : tokens;
            if (actual !== c.cost) ops.push({ type: "budget", key: c.key, delta: actual - c.cost });
          }
        }
        if (ops.length === 0) return;
        this.track(
          this.store.settle(req.id, ops).then(
            () => this.markUp(),
            (e: unknown) => {
              if (e instanceof RedisUnavailable) this.noteDown(e);
              else this.log.error(`settling request ${req.id} failed: ${(e as Error).message}`);
            },
          ),
        );
      },
    };
  }

  async ping(): Promise<boolean> {
    const up = await this.store.ping();
    if (up) this.markUp();
    return up;
  }

  /** Resolves when every settlement started so far has reached the store (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    await this.idle();
    await this.store.close();
  }

  private track(p: Promise<unknown>) {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private trackLeases(id: string, leases: { key: string; id: string }[]) {
    this.leases.set(id, leases);
    this.renewTimer ??= setInterval(() => {
      if (this.leases.size === 0) return;
      const all = [...this.leases.values()].flat();
      this.store.renewLeases(all, this.leaseTtlMs).catch((e: unknown) => this.noteDown(e as Error));
    }, Math.max(1000, Math.floor(this.leaseTtlMs / 3)));
    this.renewTimer.unref();
  }

  private async seed(x: Planned): Promise<void> {
    const key = x.check.key;
    let running = this.seeding.get(key);
    if (!running) {
      const s = x.seed!;
      running = (async () => {
        let used: number;
        try {
          const agg = await this.getDb().usageRollup.aggregate({
            where: { tenantId: s.tenantId, ...(s.apiKeyId ? { apiKeyId: s.apiKeyId } : {}), hour: { gte: s.monthStart } },
            _sum: { promptTokens: true, completionTokens: true, costNano: true },
          });
          used = MONEY.has(x.kind)
            ? Number(agg._sum.costNano ?? 0)
            : Number(agg._sum.promptTokens ?? 0) + Number(agg._sum.completionTokens ?? 0);
        } catch (e) {
          metrics().dbErrors.inc({ source: "limits" });
          throw e;
        }
        await this.store.seedBudget(key, used, s.ttlMs);
      })().finally(() => this.seeding.delete(key));
      this.seeding.set(key, running);
    }
    await running;
  }

  private report(planned: Planned[], results: CheckResult[], admitted: boolean, now: number): AdmissionReport {
    const report: AdmissionReport = { budgetWarnings: [] };
    // a window just charged is not empty until its newest bucket (this second) leaves it
    const freshResetMs = WINDOW_SECONDS * 1000 - (now % 1000);
    const tightest = (kind: "rpm" | "tpm"): WindowReport | undefined => {
      let best: WindowReport | undefined;
      planned.forEach((x, i) => {
        if (x.kind !== kind || x.check.type !== "window") return;
        const r = results[i]!;
        const charged = admitted ? x.check.cost : 0;
        const remaining = Math.max(0, x.check.limit - r.used - charged);
        const resetMs = charged > 0 ? freshResetMs : r.resetMs;
        if (!best || remaining < best.remaining) best = { limit: x.check.limit, remaining, resetMs };
      });
      return best;
    };
    const requests = tightest("rpm");
    if (requests) report.requests = requests;
    const tokens = tightest("tpm");
    if (tokens) report.tokens = tokens;
    // money budgets: the tightest of the tenant's and the key's, monthly and daily
    planned.forEach((x, i) => {
      if (!MONEY.has(x.kind) || x.check.type !== "budget") return;
      const charged = admitted ? x.check.cost : 0;
      const remaining = Math.max(0, x.check.limit - results[i]!.used - charged);
      if (!report.spend || remaining < report.spend.remainingNano) {
        report.spend = { limitNano: x.check.limit, remainingNano: remaining, period: x.kind === "spend_daily" ? "day" : "month" };
      }
    });
    return report;
  }

  private budgetWarnings(p: Principal, planned: Planned[], results: CheckResult[]): string[] {
    const percent = p.limits.tenant.budgetWarnPercent ?? DEFAULT_BUDGET_WARN_PERCENT;
    const notes: string[] = [];
    planned.forEach((x, i) => {
      if (!BUDGETS.has(x.kind)) return;
      const used = results[i]!.used;
      const limit = x.check.limit;
      if (used * 100 < limit * percent) return;
      const share = Math.floor((used * 100) / limit);
      notes.push(
        x.kind === "budget"
          ? `${SCOPE_NAME[x.scope]} has used ${used} of its ${limit}-token monthly budget (${share}%)`
          : `${SCOPE_NAME[x.scope]} has spent ${formatAmount(BigInt(used))} of its ${formatAmount(BigInt(limit))} ${env().SPEND_CURRENCY} ${x.kind === "spend" ? "monthly" : "daily"} budget (${share}%)`,
      );
      metrics().budgetWarnings.inc({ tenant: p.tenantSlug, scope: x.scope });
      if (!this.warned.has(x.check.key)) {
        this.warned.add(x.check.key);
        this.log.warn(`tenant ${p.tenantSlug}: ${SCOPE_NAME[x.scope]}${x.scope === "key" ? ` ${p.apiKeyId}` : ""} passed ${percent}% of its ${x.kind === "budget" ? "monthly token" : x.kind === "spend" ? "monthly spend" : "daily spend"} budget (${used} of ${limit}${MONEY.has(x.kind) ? " nano-units" : ""})`);
      }
    });
    return notes;
  }

  private rejection(x: Planned, r: CheckResult, now: number): AppError {
    const where = `this ${SCOPE_NAME[x.scope]}`;
    const limit = x.check.limit;
    let err: AppError;
    if (MONEY.has(x.kind)) {
      const daily = x.kind === "spend_daily";
      const next = daily ? new Date(dayStartUtc(now).getTime() + DAY_MS) : nextMonthStartUtc(now);
      const cur = env().SPEND_CURRENCY;
      err = new AppError(
        "rate_limited",
        `The ${daily ? "daily" : "monthly"} spend budget of ${where} is used up (${formatAmount(BigInt(r.used))} of ${formatAmount(BigInt(limit))} ${cur}). It renews on ${daily ? next.toISOString().slice(0, 16).replace("T", " ") : next.toISOString().slice(0, 10)} (UTC); an administrator can raise it.`,
        { code: "budget_exceeded", retryAfter: Math.ceil((next.getTime() - now) / 1000) },
      );
    } else if (x.kind === "budget") {
      const next = nextMonthStartUtc(now);
      err = new AppError(
        "rate_limited",
        `The monthly token budget of ${where} is used up (${r.used} of ${limit} tokens). It renews on ${next.toISOString().slice(0, 10)} (UTC); an administrator can raise it.`,
        { code: "budget_exceeded", retryAfter: Math.ceil((next.getTime() - now) / 1000) },
      );
    } else if (x.kind === "concurrency") {
      err = new AppError("rate_limited", `Too many concurrent requests on ${where}: the limit is ${limit}. Retry when one finishes.`, {
        code: "concurrency_limit_exceeded",
        retryAfter: 1,
      });
    } else {
      const what = x.kind === "rpm" ? "requests per minute (RPM)" : "tokens per minute (TPM)";
      const seconds = Math.max(1, Math.ceil(r.retryMs / 1000));
      const requested = x.kind === "tpm" && x.check.type === "window" ? `, requested ${x.check.cost}` : "";
      err = new AppError("rate_limited", `Rate limit reached for ${what} on ${where}: limit ${limit}, used ${r.used}${requested}. Please try again in ${seconds}s.`, {
        code: "rate_limit_exceeded",
        retryAfter: seconds,
      });
    }
    return err;
  }

  private backendDown(e: Error): Admission {
    this.noteDown(e);
    metrics().rateLimitBackendErrors.inc({ fail_mode: this.failMode });
    if (this.failMode === "open") return noop();
    throw new AppError("unavailable", "Rate limiting is unavailable, so requests are refused for now (fail-closed). Try again shortly.", {
      code: "rate_limiter_unavailable",
      retryAfter: 1,
    });
  }

  private markUp() {
    if (!this.up) this.log.warn(`${this.store.backend} is reachable again: limits are enforced`);
    this.up = true;
  }

  private noteDown(e: Error) {
    const now = Date.now();
    // one line per 10 s while down, not one per request
    if (this.up || now - this.lastDownLog > 10_000) {
      this.lastDownLog = now;
      this.log.error(
        `${this.store.backend} is unreachable (${e.message}); RATE_LIMIT_FAIL_MODE=${this.failMode}: ` +
          (this.failMode === "open" ? "requests are admitted WITHOUT limits" : "requests are refused with 503"),
      );
    }
    this.up = false;
  }
}

// ---- the process-wide limiter -------------------------------------------------------

// One limiter per process, whichever bundle asks first (server/runtime/registry.ts).
const slot = processSlot("limiter", fromEnv);

function fromEnv(): Limiter {
  const e = env();
  const store = e.REDIS_URL ? new RedisStore({ url: e.REDIS_URL, timeoutMs: e.RATE_LIMIT_REDIS_TIMEOUT_MS }) : new MemoryStore();
  return install(new Limiter({ store, failMode: e.RATE_LIMIT_FAIL_MODE }));
}

/** The process-wide limiter reports its backend's health at scrape time (switchyard_ratelimit_backend_up). */
function install(l: Limiter): Limiter {
  registerCollector("limiter", () => l.status());
  return l;
}

export function limiter(): Limiter {
  return slot.get();
}

/** Replaces the process-wide limiter (tests, the benchmark); closes the previous one. */
export async function setLimiter(next: Limiter): Promise<void> {
  const prev = slot.set(install(next));
  if (prev && prev !== next) await prev.close();
}

/** The limiter if anything has used it (shutdown needn't connect to Redis to close nothing). */
export function existingLimiter(): Limiter | undefined {
  return slot.peek();
}
