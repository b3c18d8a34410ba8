import "server-only";
import { db } from "./db/client";
import { loadMigrations } from "./db/migrate";
import { env } from "./env";
import { metrics } from "./metrics/metrics";
import { existingLimiter } from "./ratelimit/limiter";

/**
 * Readiness: the database answers and every committed migration is applied; with
 * REDIS_URL, the limiter's Redis too — but only when RATE_LIMIT_FAIL_MODE=closed,
 * because only then can this replica not serve without it (fail-open keeps serving
 * and reports the outage in the check text and the metrics instead).
 */
export async function readiness(): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  try {
    const rows = await db().$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM "_switchyard_migrations"`);
    checks.database = "ok";
    const applied = new Set(rows.map((r) => r.id));
    const pending = loadMigrations(env().DB_PROVIDER).filter((m) => !applied.has(m.id));
    checks.migrations = pending.length === 0 ? "ok" : `pending: ${pending.map((m) => m.id).join(", ")}`;
  } catch (e) {
    metrics().dbErrors.inc({ source: "health" });
    checks.database = `error: ${(e as Error).message.split("\n")[0]}`;
  }
  let ready = Object.values(checks).every((v) => v === "ok");
  const limiter = existingLimiter();
  if (limiter && limiter.store.backend === "redis") {
    const up = await limiter.ping();
    if (up) checks.ratelimit = "ok";
    else if (limiter.failMode === "closed") {
      checks.ratelimit = "error: Redis unreachable (fail-closed: /api/v1 refuses requests)";
      ready = false;
    } else checks.ratelimit = "degraded: Redis unreachable (fail-open: limits are not enforced)";
  }
  return { ready, checks };
}
