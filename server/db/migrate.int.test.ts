/**
 * The migrator on fresh databases of its own (not the run's shared one): a temp
 * SQLite file always, and a fresh PostgreSQL database when TEST_DB=postgresql.
 * Edited or added migrations are tried on a temp copy of prisma/migrations,
 * found through SWITCHYARD_ROOT.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createDb } from "./client";
import { loadMigrations, migrate } from "./migrate";

const repoRoot = process.cwd();
const committed = readdirSync(path.join(repoRoot, "prisma/migrations/sqlite")).filter((d) => /^\d{4}_/.test(d)).sort();

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "switchyard-migrate-"));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A temp project root holding a copy of prisma/migrations; SWITCHYARD_ROOT points the migrator at it. */
function tempRoot(): { root: string; migrations: (provider: "sqlite" | "postgresql") => string } {
  const root = tempDir();
  cpSync(path.join(repoRoot, "prisma/migrations"), path.join(root, "prisma/migrations"), { recursive: true });
  vi.stubEnv("SWITCHYARD_ROOT", root);
  return { root, migrations: (p) => path.join(root, "prisma/migrations", p) };
}

function addMigration(dir: string, id: string, sql: string) {
  mkdirSync(path.join(dir, id), { recursive: true });
  writeFileSync(path.join(dir, id, "migration.sql"), sql);
}

describe("committed migrations", () => {
  it("exist for both providers with the same ids", () => {
    expect(committed.length).toBeGreaterThan(0);
    expect(loadMigrations("sqlite").map((m) => m.id)).toEqual(committed);
    expect(loadMigrations("postgresql").map((m) => m.id)).toEqual(committed);
  });
});

interface Target {
  name: "sqlite" | "postgresql";
  /** a URL for a brand-new, empty database */
  fresh: () => Promise<string>;
  tables: (url: string) => Promise<string[]>;
  appliedRows: (url: string) => Promise<string[]>;
}

const sqliteTarget: Target = {
  name: "sqlite",
  fresh: async () => `file:${path.join(tempDir(), "nested", "dir", "m.db")}`,
  tables: async (url) => {
    const { default: Database } = await import("better-sqlite3");
    const d = new Database(url.slice("file:".length), { readonly: true });
    try {
      return (d.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
    } finally {
      d.close();
    }
  },
  appliedRows: async (url) => {
    const { default: Database } = await import("better-sqlite3");
    const d = new Database(url.slice("file:".length), { readonly: true });
    try {
      return (d.prepare('SELECT id FROM "_switchyard_migrations" ORDER BY id').all() as { id: string }[]).map((r) => r.id);
    } finally {
      d.close();
    }
  },
};

const pgAdmin = process.env.TEST_PG_URL ?? "postgresql://postgres:postgres@localhost:5432/postgres";
const pgDatabases: string[] = [];
async function pgQuery<T>(url: string, sql: string): Promise<T[]> {
  const { default: pg } = await import("pg");
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}
const pgTarget: Target = {
  name: "postgresql",
  fresh: async () => {
    const name = `switchyard_migrate_${process.pid}_${Date.now()}_${pgDatabases.length}`;
    await pgQuery(pgAdmin, `CREATE DATABASE "${name}"`);
    pgDatabases.push(name);
    const u = new URL(pgAdmin);
    u.pathname = `/${name}`;
    return u.toString();
  },
  tables: async (url) =>
    (await pgQuery<{ tablename: string }>(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).map(
      (r) => r.tablename,
    ),
  appliedRows: async (url) =>
    (await pgQuery<{ id: string }>(url, 'SELECT id FROM "_switchyard_migrations" ORDER BY id')).map((r) => r.id),
};

const targets = [sqliteTarget, ...(process.env.TEST_DB === "postgresql" ? [pgTarget] : [])];

afterAll(async () => {
  for (const name of pgDatabases) await pgQuery(pgAdmin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

describe.each(targets)("migrate on a fresh $name database", (target) => {
  let url: string;
  beforeAll(async () => {
    url = await target.fresh();
  });

  it("applies every migration, and the app's client works against the result", async () => {
    const result = await migrate(url);
    expect(result).toEqual({ provider: target.name, applied: committed, alreadyApplied: 0 });
    const tables = await target.tables(url);
    for (const t of ["User", "Tenant", "Membership", "AuditLog", "AuthThrottle", "_switchyard_migrations"]) {
      expect(tables).toContain(t);
    }
    expect(await target.appliedRows(url)).toEqual(committed);
    const client = createDb(url);
    try {
      expect(await client.tenant.count()).toBe(0);
    } finally {
      await client.$disconnect();
    }
  });

  it("applies nothing when run again", async () => {
    expect(await migrate(url)).toEqual({ provider: target.name, applied: [], alreadyApplied: committed.length });
    expect(await target.appliedRows(url)).toEqual(committed);
  });
});

describe.each(targets)("migrate with changed migration files ($name)", (target) => {
  it("refuses when an applied migration was edited, and applies nothing", async () => {
    const { migrations } = tempRoot();
    const url = await target.fresh();
    await migrate(url);
    const first = committed[0]!;
    appendFileSync(path.join(migrations(target.name), first, "migration.sql"), "\n-- edited\n");
    addMigration(migrations(target.name), "9998_would_be_next", 'CREATE TABLE "ShouldNotExist" ("id" TEXT);');
    await expect(migrate(url)).rejects.toThrow(`migration ${first} was changed after it was applied`);
    expect(await target.tables(url)).not.toContain("ShouldNotExist");
    expect(await target.appliedRows(url)).toEqual(committed);
  });

  it("applies only a newly added migration, in order", async () => {
    const { migrations } = tempRoot();
    const url = await target.fresh();
    await migrate(url);
    addMigration(migrations(target.name), "9998_add_a", 'CREATE TABLE "ExtraA" ("id" TEXT PRIMARY KEY);');
    addMigration(migrations(target.name), "9999_add_b", 'CREATE TABLE "ExtraB" ("id" TEXT PRIMARY KEY);');
    // not migrations: wrong name shape, or not a directory
    addMigration(migrations(target.name), "notes", "this is not SQL");
    writeFileSync(path.join(migrations(target.name), "9997_file.sql"), "this is not SQL");
    expect(await migrate(url)).toEqual({
      provider: target.name,
      applied: ["9998_add_a", "9999_add_b"],
      alreadyApplied: committed.length,
    });
    expect(await target.tables(url)).toEqual(expect.arrayContaining(["ExtraA", "ExtraB"]));
  });

  it("rolls back a failing migration completely and does not record it", async () => {
    const { migrations } = tempRoot();
    const url = await target.fresh();
    await migrate(url);
    addMigration(
      migrations(target.name),
      "9998_broken",
      'CREATE TABLE "HalfDone" ("id" TEXT PRIMARY KEY);\nCREATE TABLE "Broken" (this is not valid sql);',
    );
    await expect(migrate(url)).rejects.toThrow();
    expect(await target.tables(url)).not.toContain("HalfDone");
    expect(await target.appliedRows(url)).toEqual(committed);
  });

  it("concurrent runs apply each migration exactly once", async () => {
    tempRoot();
    const url = await target.fresh();
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(committed);
    expect(await target.appliedRows(url)).toEqual(committed);
  });
});

type Db = ReturnType<typeof createDb>;

/**
 * A migration that changes tables holding rows: the database is migrated without it, the
 * rows are inserted (`seed`, raw SQL of the schema before it), then it is applied alone and
 * `check` asserts the rows survived with the new columns' values.
 */
interface DataMigrationCase {
  id: string;
  what: string;
  seed: string[];
  check: (client: Db) => Promise<void>;
}

const logRow = (id: string, tenantId: string) =>
  `INSERT INTO "RequestLog" ("id", "requestId", "tenantId", "endpoint", "modelRequested", "status", "httpStatus", "promptTokens", "latencyMs") ` +
  `VALUES ('${id}', '${id}', '${tenantId}', 'chat.completions', 'x', 'ok', 200, 9, 5)`;
const tenantRow = (id: string, slug: string) => `INSERT INTO "Tenant" ("id", "slug", "name", "updatedAt") VALUES ('${id}', '${slug}', '${slug.toUpperCase()}', '2026-01-01T00:00:00.000Z')`;

const DATA_MIGRATIONS: DataMigrationCase[] = [
  {
    id: "0005_capabilities_tool_use",
    what: "adds the capability and tool-use columns without losing backend grants or log rows",
    seed: [
      tenantRow("tnt_m", "m"),
      `INSERT INTO "Backend" ("id", "name", "baseUrl", "updatedAt") VALUES ('bke_m', 'private', 'http://x/v1', '2026-01-01T00:00:00.000Z')`,
      `INSERT INTO "BackendGrant" ("id", "tenantId", "backendId") VALUES ('bgr_m', 'tnt_m', 'bke_m')`,
      logRow("req_m", "tnt_m"),
    ],
    check: async (client) => {
      expect(await client.backendGrant.count({ where: { backendId: "bke_m" } })).toBe(1);
      expect(await client.backend.findUniqueOrThrow({ where: { id: "bke_m" }, select: { vision: true, visionModels: true } })).toEqual({ vision: null, visionModels: "[]" });
      expect(await client.requestLog.findUniqueOrThrow({ where: { id: "req_m" }, select: { promptTokens: true, toolsOffered: true, toolCalls: true } })).toEqual({
        promptTokens: 9,
        toolsOffered: 0,
        toolCalls: 0,
      });
    },
  },
  {
    id: "0008_prompt_cache",
    what: "adds the prompt-cache and affinity columns without losing policy versions, log or rollup rows",
    seed: [
      tenantRow("tnt_p", "p"),
      `INSERT INTO "RoutingPolicy" ("id", "tenantId", "alias", "updatedAt") VALUES ('rpl_p', 'tnt_p', 'fast', '2026-01-01T00:00:00.000Z')`,
      `INSERT INTO "RoutingPolicyVersion" ("id", "tenantId", "policyId", "version", "snapshot") VALUES ('rpv_p', 'tnt_p', 'rpl_p', 1, '{}')`,
      logRow("req_p", "tnt_p"),
      `INSERT INTO "UsageRollup" ("id", "tenantId", "apiKeyId", "model", "hour", "requests", "promptTokens", "updatedAt") ` +
        `VALUES ('rlp_p', 'tnt_p', '', 'x', '2026-01-01T00:00:00.000Z', 1, 9, '2026-01-01T00:00:00.000Z')`,
    ],
    check: async (client) => {
      expect(await client.routingPolicyVersion.count({ where: { policyId: "rpl_p" } })).toBe(1);
      expect(await client.routingPolicy.findUniqueOrThrow({ where: { id: "rpl_p" }, select: { affinity: true } })).toEqual({ affinity: "none" });
      expect(await client.requestLog.findUniqueOrThrow({ where: { id: "req_p" }, select: { promptTokens: true, cachedTokens: true } })).toEqual({ promptTokens: 9, cachedTokens: 0 });
      expect(await client.usageRollup.findUniqueOrThrow({ where: { id: "rlp_p" }, select: { promptTokens: true, cachedTokens: true } })).toEqual({ promptTokens: 9n, cachedTokens: 0n });
    },
  },
  {
    id: "0010_spend",
    what: "rollup sums become 64-bit and every table keeps its rows (keys, rollups, log)",
    seed: [
      tenantRow("tnt_s", "s"),
      `INSERT INTO "ApiKey" ("id", "tenantId", "name", "prefix", "hash", "updatedAt") VALUES ('key_s', 'tnt_s', 'k', 'sk-sy-x', 'h_s', '2026-01-01T00:00:00.000Z')`,
      `INSERT INTO "UsageRollup" ("id", "tenantId", "apiKeyId", "model", "hour", "requests", "promptTokens", "completionTokens", "latencySumMs", "updatedAt") ` +
        `VALUES ('rol_s', 'tnt_s', 'key_s', 'm', '2026-01-01T10:00:00.000Z', 3, 2000000000, 7, 2147483000, '2026-01-01T10:00:00.000Z')`,
      logRow("req_s", "tnt_s"),
    ],
    check: async (client) => {
      expect(await client.apiKey.count({ where: { tenantId: "tnt_s" } })).toBe(1);
      expect(await client.requestLog.findUniqueOrThrow({ where: { id: "req_s" }, select: { costNano: true, priceId: true } })).toEqual({ costNano: null, priceId: null });
      // past 2^31 now: the sums are BIGINT on both providers
      await client.$executeRawUnsafe(`UPDATE "UsageRollup" SET "latencySumMs" = "latencySumMs" + 2147483000, "promptTokens" = "promptTokens" * 3 WHERE "id" = 'rol_s'`);
      expect(await client.usageRollup.findUniqueOrThrow({ where: { id: "rol_s" }, select: { requests: true, promptTokens: true, latencySumMs: true, costNano: true, unpriced: true } })).toEqual({
        requests: 3,
        promptTokens: 6_000_000_000n,
        latencySumMs: 4_294_966_000n,
        costNano: 0n,
        unpriced: 0,
      });
    },
  },
];

describe.each(targets)("a migration on a database with data ($name)", (target) => {
  it.each(DATA_MIGRATIONS.map((c) => [`${c.id}: ${c.what}`, c] as const))("%s", async (_name, { id, seed, check }) => {
    const { migrations } = tempRoot();
    rmSync(path.join(migrations(target.name), id), { recursive: true });
    const url = await target.fresh();
    await migrate(url);
    const client = createDb(url);
    try {
      for (const row of seed) await client.$executeRawUnsafe(row);
      cpSync(path.join(repoRoot, "prisma/migrations", target.name, id), path.join(migrations(target.name), id), { recursive: true });
      expect((await migrate(url)).applied).toEqual([id]);
      await check(client);
    } finally {
      await client.$disconnect();
    }
  });
});

describe.each(targets)("0012 on a database with data ($name)", (target) => {
  it("adds RequestLog.routeScore, backfilled from the difficulty reasons written before it", async () => {
    const { migrations } = tempRoot();
    const id = "0012_request_log_route_score";
    rmSync(path.join(migrations(target.name), id), { recursive: true });
    const url = await target.fresh();
    await migrate(url);
    const client = createDb(url);
    try {
      const sql = (s: string) => client.$executeRawUnsafe(s);
      await sql(`INSERT INTO "Tenant" ("id", "slug", "name", "updatedAt") VALUES ('tnt_r', 'r', 'R', '2026-01-01T00:00:00.000Z')`);
      const reasons: Record<string, string | null> = {
        req_r1: "difficulty: score=0.1234 < 0.3000 → tier 1/2",
        req_r2: "difficulty: score=1.0000 ≥ 0.8000 → tier 2/2; session affinity → model:x",
        req_r3: "difficulty: score=0.5000",
        req_r4: "fallback: first in chain",
        req_r5: "no healthy target; skipped unhealthy model:x",
        req_r6: "difficulty: score=NaN (no thresholds) → tier 1/1",
        req_r7: null,
      };
      for (const [rid, reason] of Object.entries(reasons)) {
        await sql(
          `INSERT INTO "RequestLog" ("id", "requestId", "tenantId", "endpoint", "modelRequested", "routeReason", "status", "httpStatus", "latencyMs") ` +
            `VALUES ('${rid}', '${rid}', 'tnt_r', 'chat.completions', 'x', ${reason === null ? "NULL" : `'${reason}'`}, 'ok', 200, 5)`,
        );
      }
      cpSync(path.join(repoRoot, "prisma/migrations", target.name, id), path.join(migrations(target.name), id), { recursive: true });
      expect((await migrate(url)).applied).toEqual([id]);
      const rows = await client.requestLog.findMany({ where: { tenantId: "tnt_r" }, orderBy: { id: "asc" }, select: { id: true, routeReason: true, routeScore: true } });
      expect(Object.fromEntries(rows.map((r) => [r.id, r.routeScore]))).toEqual({
        req_r1: 0.1234,
        req_r2: 1,
        req_r3: 0.5,
        req_r4: null,
        req_r5: null,
        req_r6: null,
        req_r7: null,
      });
      expect(rows.map((r) => r.routeReason)).toEqual(Object.values(reasons));
    } finally {
      await client.$disconnect();
    }
  });
});

describe("migrate with no migrations folder", () => {
  it("fails, naming the folder it looked for", async () => {
    const root = tempDir();
    vi.stubEnv("SWITCHYARD_ROOT", root);
    await expect(migrate(`file:${path.join(root, "x.db")}`)).rejects.toThrow(
      `migrations folder not found: ${path.join(root, "prisma", "migrations", "sqlite")}`,
    );
  });
});
