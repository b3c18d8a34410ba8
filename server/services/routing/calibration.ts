/**
 * Calibration of difficulty thresholds on the tenant's own recent traffic: the
 * scores its requests got (RequestLog.routeScore, written with the usage row) give
 * quantiles such that the policy's share reaches the strongest tier. It runs in the
 * server's periodic housekeeping round (calibrationHousekeeping, started by
 * server/startup.ts), never on a request: planning only reads the thresholds the
 * last calibration stored in the policy's config (thresholdsOf).
 */
import type { Db } from "../../db/client";
import { NotFound } from "../../errors";
import { logger } from "../../log/logger";
import { calibrate, defaultThresholds } from "../../routing/router";
import { processSlot } from "../../runtime/registry";
import { bumpConfigStamp, configChange } from "./config-cache";
import { type Calibration, type Policy, type PolicyConfig, policySelect, toPolicy } from "./policies";

/** The thresholds a difficulty policy decides with: its calibration when it fits the tiers, else the defaults. */
export function thresholdsOf(p: Policy): number[] {
  const tiers = p.targets.length;
  const cal = p.calibration?.thresholds;
  return cal && cal.length === tiers - 1 ? cal : defaultThresholds(p.strongShare, tiers);
}

export const CALIBRATION = { windowDays: 7, maxSamples: 5000, minSamples: 50, staleMs: 10 * 60_000 };

/**
 * Recomputes a difficulty policy's thresholds from the scores its recent requests
 * got (RequestLog.routeScore), so the chosen share reaches the strongest tier on
 * this tenant's own traffic. Too little history keeps what the policy had.
 */
export async function recalibratePolicy(db: Db, tenantId: string, policyId: string, now = new Date()) {
  const row = await db.routingPolicy.findFirst({ where: { id: policyId, tenantId }, select: policySelect });
  if (!row) throw NotFound("Routing policy");
  const p = toPolicy(row);
  if (p.strategy !== "difficulty") return null;
  const logs = await db.requestLog.findMany({
    where: { tenantId, policyId, createdAt: { gte: new Date(now.getTime() - CALIBRATION.windowDays * 86_400_000) } },
    orderBy: { createdAt: "desc" },
    take: CALIBRATION.maxSamples,
    select: { routeScore: true },
  });
  // the latest rows of the policy, scored or not (a request with no healthy target has no score), as before the column
  const scores = logs.map((l) => l.routeScore).filter((s): s is number => s !== null);
  if (scores.length < CALIBRATION.minSamples) return null;
  const calibration: Calibration = { thresholds: calibrate(scores, p.strongShare, p.targets.length), samples: scores.length, at: now.toISOString() };
  // Only if the policy is still the version we calibrated: an edit in between wins.
  await configChange(() =>
    db.$transaction(async (tx) => {
      const { count } = await tx.routingPolicy.updateMany({
        where: { id: p.id, tenantId, version: p.version },
        data: { config: JSON.stringify({ strongShare: p.strongShare, embeddingModel: p.embeddingModel, calibration } satisfies PolicyConfig) },
      });
      if (count) await bumpConfigStamp(tx);
    }),
  );
  return calibration;
}

/** When this process last tried each policy (by id): a policy with too little history is retried after staleMs, not every round. */
const lastTried = processSlot("routing.calibrationTried", () => new Map<string, number>());

/** Whether a policy is due: its calibration (if any) and this process's last try are both older than staleMs. */
function due(p: Policy, now: number): boolean {
  const at = p.calibration ? Date.parse(p.calibration.at) : 0;
  const tried = lastTried.get().get(p.id) ?? 0;
  return now - at >= CALIBRATION.staleMs && now - tried >= CALIBRATION.staleMs;
}

/**
 * The housekeeping entry (startHealthChecks' round, server/startup.ts): recalibrates
 * every difficulty policy that is due, one at a time, across tenants. A failure is
 * logged and retried after staleMs; it never stops the round for other policies.
 * Returns how many policies got new thresholds.
 */
export async function calibrationHousekeeping(db: Db, now = new Date()): Promise<number> {
  const rows = await db.routingPolicy.findMany({ where: { strategy: "difficulty" }, orderBy: { id: "asc" }, select: policySelect });
  let calibrated = 0;
  for (const row of rows) {
    const p = toPolicy(row);
    if (!due(p, now.getTime())) continue;
    lastTried.get().set(p.id, now.getTime());
    try {
      if (await recalibratePolicy(db, row.tenantId, p.id, now)) calibrated++;
    } catch (e) {
      logger("routing").error({ policyId: p.id, alias: p.alias, err: (e as Error).message }, "calibration failed");
    }
  }
  return calibrated;
}
