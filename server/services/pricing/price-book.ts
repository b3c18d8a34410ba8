/**
 * The price list in memory, for costing requests on the hot path without a query:
 * every Price row (a small table), re-read every PRICE_REFRESH_SECONDS and at once
 * after a change made in this process. Versions are kept with their effective
 * dates, so a price scheduled ahead applies at its time on every replica, and a row
 * is costed by the price in force when its request started.
 *
 * Which price applies to a served model (first match):
 *   1. the price of that backend's model (backendId + upstream model id),
 *   2. the price of the model name wherever it is served (backendId ""),
 *   3. a local model: LOCAL_PRICE_PER_MTOK (env; default 0) — local models are never "unpriced",
 *   4. otherwise the request is unpriced: its cost is unknown (null), never 0, and it is
 *      counted in switchyard_unpriced_requests_total.
 */
import { type Db, db as defaultDb } from "../../db/client";
import { env } from "../../env";
import { processSlot } from "../../runtime/registry";
import { type CostInput, type PriceAmounts, costNano, estimateNano, parseAmount } from "../../lib/money";
import { logger } from "../../log/logger";

export interface PriceRow extends PriceAmounts {
  id: string;
  backendId: string;
  model: string;
  currency: string;
  effectiveFrom: Date;
}

export interface Served {
  /** null for a local model */
  backendId: string | null;
  /** the local model's name, or the upstream model id */
  model: string;
}

export interface Costed {
  /** null = unpriced */
  costNano: bigint | null;
  /** the Price row used; null for the local default and for unpriced requests */
  priceId: string | null;
}

export interface PriceBookOptions {
  db?: () => Db;
  refreshMs?: number;
  /** the local-model default per million tokens, nano-units */
  localNanoPerM?: bigint;
  logger?: { error(m: string): void };
}

export class PriceBook {
  private readonly getDb: () => Db;
  private readonly refreshMs: number;
  private readonly local: PriceAmounts;
  private readonly log: { error(m: string): void };
  /** "backendId\u0000model" → versions, newest effectiveFrom first */
  private versions = new Map<string, PriceRow[]>();
  /** model name → versions across every backend (estimates for a model name) */
  private byModel = new Map<string, PriceRow[]>();
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(opts: PriceBookOptions = {}) {
    this.getDb = opts.db ?? defaultDb;
    this.refreshMs = opts.refreshMs ?? env().PRICE_REFRESH_SECONDS * 1000;
    const local = opts.localNanoPerM ?? parseAmount(env().LOCAL_PRICE_PER_MTOK) ?? 0n;
    this.local = { inputNanoPerM: local, cachedInputNanoPerM: null, outputNanoPerM: local, requestNano: 0n };
    this.log = opts.logger ?? { error: (m) => logger("pricing").error(m) };
  }

  /** Loads the list if it is older than the refresh interval (one query at a time); a failed load keeps the old list. */
  async fresh(): Promise<void> {
    if (Date.now() - this.loadedAt < this.refreshMs) return;
    await this.reload();
  }

  /** Forgets the list; the next fresh() reads it again (after a change in this process). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  /**
   * After a committed change in this process: reads the list again before returning, so the
   * next request on this replica is costed with it. A load already in flight may have read the
   * list from before the change, so it is waited out and a new one started.
   */
  async changed(): Promise<void> {
    this.invalidate();
    while (this.loading) await this.loading;
    await this.reload();
  }

  reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const rows = await this.getDb().price.findMany({ orderBy: { effectiveFrom: "desc" } });
        const versions = new Map<string, PriceRow[]>();
        const byModel = new Map<string, PriceRow[]>();
        for (const r of rows) {
          const k = `${r.backendId}\u0000${r.model}`;
          (versions.get(k) ?? versions.set(k, []).get(k)!).push(r);
          (byModel.get(r.model) ?? byModel.set(r.model, []).get(r.model)!).push(r);
        }
        this.versions = versions;
        this.byModel = byModel;
        this.loadedAt = Date.now();
      } catch (e) {
        // keep costing with the list we have; the next request tries again
        this.log.error(`could not read the price list: ${(e as Error).message}`);
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private inForce(key: string, at: Date): PriceRow | null {
    const list = this.versions.get(key);
    if (!list) return null;
    const t = at.getTime();
    return list.find((p) => p.effectiveFrom.getTime() <= t) ?? null;
  }

  /** The price in force at `at` for a served model, or "local" for the local default, or null (unpriced). */
  priceFor(served: Served, at: Date): PriceRow | "local" | null {
    if (served.backendId) {
      const own = this.inForce(`${served.backendId}\u0000${served.model}`, at);
      if (own) return own;
    }
    const any = this.inForce(`\u0000${served.model}`, at);
    if (any) return any;
    return served.backendId ? null : "local";
  }

  /** A request's cost at `at`; nothing served (denied, invalid) costs 0, an answer from the response cache too. */
  cost(served: Served | null, at: Date, usage: CostInput & { cached?: boolean }): Costed {
    if (!served || usage.cached) return { costNano: 0n, priceId: null };
    const price = this.priceFor(served, at);
    if (price === null) return { costNano: null, priceId: null };
    if (price === "local") return { costNano: costNano(this.local, usage), priceId: null };
    return { costNano: costNano(price, usage), priceId: price.id };
  }

  /**
   * What a request for `model` (the name the caller sent) may cost, to reserve against
   * money budgets: the dearest price in force for that name on any backend (the router
   * may pick any of them), the local default when there is none. An alias has no price
   * of its own, so it reserves nothing and settles with the real cost.
   */
  estimate(model: string, tokens: number, at: Date = new Date()): bigint {
    const list = this.byModel.get(model);
    if (!list) return estimateNano(this.local, tokens);
    let best = 0n;
    const seen = new Set<string>();
    for (const p of list) {
      if (seen.has(p.backendId)) continue;
      const current = this.inForce(`${p.backendId}\u0000${model}`, at);
      seen.add(p.backendId);
      if (!current) continue;
      const e = estimateNano(current, tokens);
      if (e > best) best = e;
    }
    return best;
  }
}

// One price book per process, whichever bundle asks (server/runtime/registry.ts).
const slot = processSlot("pricing.priceBook", () => new PriceBook());

export function priceBook(): PriceBook {
  return slot.get();
}

/** Replaces the process-wide price book (tests). */
export function setPriceBook(next: PriceBook): void {
  slot.set(next);
}
