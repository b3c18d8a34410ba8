/**
 * Retention: stored bodies are deleted after the tenant's `bodyRetentionDays`, usage rows
 * (RequestLog) after the tenant's `usageRetentionDays` or the platform default
 * (USAGE_RETENTION_DAYS; 0 = keep). Hourly rollups are never purged: the dashboards'
 * history stays while the per-request detail goes.
 *
 * It runs in the server's periodic round (startHealthChecks' housekeeping, see
 * startup.ts), at most every PURGE_EVERY_MS per process. Deletes go in small batches —
 * select RETENTION_PURGE_BATCH ids by the (tenantId, createdAt) index, delete those ids,
 * one autocommitted statement each — so neither SQLite nor PostgreSQL holds a long lock
 * on the log the usage writer is appending to; a round stops after MAX_BATCHES_PER_RUN
 * and the next one goes on. Every tenant whose rows were deleted gets an audit row.
 */
import type { Db } from "../../db/client";
import { env } from "../../env";
import { type Actor, recordAudit } from "../audit/audit";
import { DEFAULT_POLICY } from "./request-bodies";
import { processSlot } from "../../runtime/registry";

export const PURGE_EVERY_MS = 10 * 60_000;
export const MAX_BATCHES_PER_RUN = 200;
const DAY_MS = 86_400_000;

export const RETENTION_ACTOR: Actor = { userId: null, label: "retention", isPlatformAdmin: true };

export interface PurgeResult {
  requestLogs: number;
  bodies: number;
  tenants: number;
  /** stopped at MAX_BATCHES_PER_RUN with more to delete */
  more: boolean;
}

// per process, whichever bundle's housekeeping round runs it
const purge = processSlot("requestBodies.retention", () => ({ lastRun: 0 }));

/** Deletes `where` rows in batches of ids; returns how many, and whether the batch budget ran out. */
async function deleteInBatches(
  count: (ids: string[]) => Promise<number>,
  select: (take: number) => Promise<{ id: string }[]>,
  budget: { batches: number },
  size: number,
): Promise<number> {
  let total = 0;
  while (budget.batches > 0) {
    const ids = (await select(size)).map((r) => r.id);
    if (ids.length === 0) break;
    budget.batches--;
    total += await count(ids);
    if (ids.length < size) break;
    // let requests in between batches
    await new Promise((r) => setImmediate(r));
  }
  return total;
}

/**
 * One purge round. `force` ignores PURGE_EVERY_MS (tests, the CLI); `now` is injectable
 * so tests need no clock tricks.
 */
export async function purgeRetention(db: Db, opts: { force?: boolean; now?: number; batchSize?: number } = {}): Promise<PurgeResult> {
  const now = opts.now ?? Date.now();
  const result: PurgeResult = { requestLogs: 0, bodies: 0, tenants: 0, more: false };
  if (!opts.force && now - purge.get().lastRun < PURGE_EVERY_MS) return result;
  purge.get().lastRun = now;
  const e = env();
  const size = opts.batchSize ?? e.RETENTION_PURGE_BATCH;
  const budget = { batches: MAX_BATCHES_PER_RUN };
  let cursor: string | undefined;
  for (;;) {
    const tenants = await db.tenant.findMany({
      select: { id: true, logPolicy: { select: { bodyRetentionDays: true, usageRetentionDays: true } } },
      orderBy: { id: "asc" },
      take: 500,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    if (tenants.length === 0) break;
    cursor = tenants[tenants.length - 1]!.id;
    for (const t of tenants) {
      if (budget.batches <= 0) {
        result.more = true;
        return result;
      }
      const usageDays = t.logPolicy?.usageRetentionDays ?? e.USAGE_RETENTION_DAYS;
      const bodyDays = t.logPolicy?.bodyRetentionDays ?? DEFAULT_POLICY.bodyRetentionDays;
      // a body never outlives its usage row
      const bodyCutoff = new Date(now - Math.min(bodyDays, usageDays > 0 ? usageDays : Infinity) * DAY_MS);
      const bodies = await deleteInBatches(
        async (ids) => (await db.requestBody.deleteMany({ where: { tenantId: t.id, id: { in: ids } } })).count,
        (take) => db.requestBody.findMany({ where: { tenantId: t.id, createdAt: { lt: bodyCutoff } }, select: { id: true }, orderBy: { createdAt: "asc" }, take }),
        budget,
        size,
      );
      let logs = 0;
      let usageCutoff: Date | null = null;
      if (usageDays > 0) {
        usageCutoff = new Date(now - usageDays * DAY_MS);
        const cutoff = usageCutoff;
        logs = await deleteInBatches(
          async (ids) => (await db.requestLog.deleteMany({ where: { tenantId: t.id, id: { in: ids } } })).count,
          (take) => db.requestLog.findMany({ where: { tenantId: t.id, createdAt: { lt: cutoff } }, select: { id: true }, orderBy: { createdAt: "asc" }, take }),
          budget,
          size,
        );
      }
      if (bodies || logs) {
        result.tenants++;
        result.bodies += bodies;
        result.requestLogs += logs;
        await recordAudit(db, RETENTION_ACTOR, {
          tenantId: t.id,
          action: "retention.purge",
          targetType: "tenant",
          targetId: t.id,
          data: { requestLogs: logs, bodies, usageBefore: usageCutoff?.toISOString() ?? null, bodiesBefore: bodyCutoff.toISOString() },
        });
      }
    }
    if (tenants.length < 500) break;
  }
  if (budget.batches <= 0) result.more = true;
  return result;
}

/** The housekeeping entry: a purge round, when one is due. */
export const retentionHousekeeping = (db: Db) => purgeRetention(db);
