/**
 * A throwaway database for tests and benchmarks: a temp SQLite file, or a new
 * database on a PostgreSQL server where `pgAdminUrl`'s user may CREATE DATABASE.
 * Not migrated; `drop()` removes it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface ScratchDatabase {
  url: string;
  drop: () => Promise<void>;
}

export async function createScratchDatabase(
  kind: string,
  opts: { pgAdminUrl: string; name: string },
): Promise<ScratchDatabase> {
  if (kind === "sqlite") {
    const dir = mkdtempSync(path.join(tmpdir(), `${opts.name}-`));
    return { url: `file:${path.join(dir, "db.sqlite")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (kind !== "postgresql") throw new Error(`database kind must be sqlite or postgresql, got ${kind}`);
  const { default: pg } = await import("pg");
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: opts.pgAdminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${opts.name}"`);
  const u = new URL(opts.pgAdminUrl);
  u.pathname = `/${opts.name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${opts.name}" WITH (FORCE)`) };
}
