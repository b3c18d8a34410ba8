/**
 * Applies the committed migration SQL (prisma/migrations/<provider>/<NNNN_name>/migration.sql)
 * in order, each once, each in its own transaction, recorded in `_switchyard_migrations`.
 *
 * Why not `prisma migrate deploy`: Prisma 7's CLI downloads its schema engine before
 * running and cannot work offline (NOTES.md §2). Called by `npm run setup`,
 * `npm run cli -- migrate` and at server start-up (instrumentation.ts).
 * Concurrent starters (several replicas) are serialised: SQLite by BEGIN IMMEDIATE,
 * PostgreSQL by an advisory lock.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { pathsEnv } from "../env";
import { providerOf, sqlitePathFromUrl } from "./url";

export interface Migration {
  id: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  provider: "sqlite" | "postgresql";
  applied: string[];
  alreadyApplied: number;
}

const TABLE = "_switchyard_migrations";
const PG_LOCK_KEY = 727_073_690; // arbitrary, fixed: identifies "switchyard migrations"

export function migrationsDir(provider: "sqlite" | "postgresql"): string {
  return path.join(pathsEnv().SWITCHYARD_ROOT ?? process.cwd(), "prisma", "migrations", provider);
}

export function loadMigrations(provider: "sqlite" | "postgresql"): Migration[] {
  const dir = migrationsDir(provider);
  if (!existsSync(dir)) throw new Error(`migrations folder not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d{4}_[a-z0-9_]+$/.test(d.name))
    .map((d) => d.name)
    .sort()
    .map((id) => {
      const sql = readFileSync(path.join(dir, id, "migration.sql"), "utf8");
      return { id, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

function checkChecksums(migrations: Migration[], applied: Map<string, string>) {
  for (const m of migrations) {
    const sum = applied.get(m.id);
    if (sum && sum !== m.checksum) {
      throw new Error(
        `migration ${m.id} was changed after it was applied; add a new migration instead of editing an applied one`,
      );
    }
  }
}

export async function migrate(url: string): Promise<MigrateResult> {
  const provider = providerOf(url);
  const migrations = loadMigrations(provider);
  return provider === "sqlite" ? migrateSqlite(url, migrations) : migratePostgres(url, migrations);
}

async function migrateSqlite(url: string, migrations: Migration[]): Promise<MigrateResult> {
  const { default: Database } = await import("better-sqlite3");
  const file = sqlitePathFromUrl(url);
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 10000");
    db.exec(
      `CREATE TABLE IF NOT EXISTS "${TABLE}" ("id" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TEXT NOT NULL)`,
    );
    const applied: string[] = [];
    const readApplied = () =>
      new Map(
        (db.prepare(`SELECT id, checksum FROM "${TABLE}"`).all() as { id: string; checksum: string }[]).map(
          (r) => [r.id, r.checksum],
        ),
      );
    checkChecksums(migrations, readApplied());
    for (const m of migrations) {
      const run = db.transaction(() => {
        if (readApplied().has(m.id)) return false; // another process got there first
        db.exec(m.sql);
        db.prepare(`INSERT INTO "${TABLE}" (id, checksum, applied_at) VALUES (?, ?, ?)`).run(
          m.id,
          m.checksum,
          new Date().toISOString(),
        );
        return true;
      });
      if (run.immediate()) applied.push(m.id);
    }
    return { provider: "sqlite", applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    db.close();
  }
}

async function migratePostgres(url: string, migrations: Migration[]): Promise<MigrateResult> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PG_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${TABLE}" ("id" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    const rows = (await client.query(`SELECT id, checksum FROM "${TABLE}"`)).rows as {
      id: string;
      checksum: string;
    }[];
    const done = new Map(rows.map((r) => [r.id, r.checksum]));
    checkChecksums(migrations, done);
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query(`INSERT INTO "${TABLE}" (id, checksum) VALUES ($1, $2)`, [m.id, m.checksum]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${m.id} failed and was rolled back: ${(e as Error).message}`, { cause: e });
      }
      applied.push(m.id);
    }
    return { provider: "postgresql", applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PG_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}
