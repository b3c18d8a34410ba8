import { db } from "./db/client";
import { loadMigrations } from "./db/migrate";
import { env } from "./env";

/** Readiness: the database answers and every committed migration is applied. */
export async function readiness(): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  try {
    const rows = await db().$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM "_switchyard_migrations"`);
    checks.database = "ok";
    const applied = new Set(rows.map((r) => r.id));
    const pending = loadMigrations(env().DB_PROVIDER).filter((m) => !applied.has(m.id));
    checks.migrations = pending.length === 0 ? "ok" : `pending: ${pending.map((m) => m.id).join(", ")}`;
  } catch (e) {
    checks.database = `error: ${(e as Error).message.split("\n")[0]}`;
  }
  return { ready: Object.values(checks).every((v) => v === "ok"), checks };
}
