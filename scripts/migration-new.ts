/**
 * Writes a new migration for both providers from the change to prisma/schema.prisma.
 *
 *   npm run migration:new -- <name>          (needs a PostgreSQL at MIGRATION_PG_URL,
 *                                              default postgresql://postgres@localhost:5432/postgres)
 *
 * It diffs prisma/migrations/schema.snapshot.prisma (the schema as of the last
 * migration) against the current schema with Prisma 6.19's JS schema engine — the
 * only Prisma that diffs offline (NOTES.md §2) — writes
 * prisma/migrations/{sqlite,postgresql}/NNNN_<name>/migration.sql and updates the snapshot.
 * The toolkit is installed once into .tmp/prisma6 (not a project dependency).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const kit = path.join(root, ".tmp/prisma6");
const PRISMA6 = "6.19.3";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run migration:new -- <name>   (lower-case letters, digits, _)");
  process.exit(2);
}
const pgUrl = process.env.MIGRATION_PG_URL ?? "postgresql://postgres@localhost:5432/postgres";

function ensureKit() {
  if (existsSync(path.join(kit, "node_modules/prisma/package.json"))) return;
  mkdirSync(kit, { recursive: true });
  writeFileSync(path.join(kit, "package.json"), '{"name":"prisma6-kit","private":true,"type":"module"}\n');
  execFileSync(
    "npm",
    ["install", "--ignore-scripts", "--no-audit", "--no-fund", `prisma@${PRISMA6}`,
      `@prisma/adapter-better-sqlite3@${PRISMA6}`, `@prisma/adapter-pg@${PRISMA6}`],
    { cwd: kit, stdio: "inherit" },
  );
  // better-sqlite3 cannot download its prebuilt binary offline; reuse ours (same Node ABI).
  cpSync(path.join(root, "node_modules/better-sqlite3/build"), path.join(kit, "node_modules/better-sqlite3/build"), {
    recursive: true,
  });
  writeFileSync(path.join(kit, "engine.so.node"), "");
}

function toolSchema(schema: string, provider: "sqlite" | "postgresql"): string {
  const url = provider === "sqlite" ? "file:./diff.db" : pgUrl;
  return schema
    .replace(/generator client \{[^}]*\}/, 'generator client {\n  provider = "prisma-client-js"\n}')
    .replace(/datasource db \{[^}]*\}/, `datasource db {\n  provider = "${provider}"\n  url = "${url}"\n}`);
}

function diff(provider: "sqlite" | "postgresql", from: string | null, to: string): string {
  writeFileSync(path.join(kit, "to.prisma"), toolSchema(to, provider));
  if (from) writeFileSync(path.join(kit, "from.prisma"), toolSchema(from, provider));
  writeFileSync(
    path.join(kit, "prisma.config.ts"),
    `import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "to.prisma",
  adapter: async () => (${provider === "postgresql" ? `new PrismaPg({ connectionString: ${JSON.stringify(pgUrl)} })` : `new PrismaBetterSQLite3({ url: "file:./diff.db" })`}) as never,
});
`,
  );
  const args = ["migrate", "diff", ...(from ? ["--from-schema-datamodel", "from.prisma"] : ["--from-empty"]),
    "--to-schema-datamodel", "to.prisma", "--script"];
  return execFileSync(path.join(kit, "node_modules/.bin/prisma"), args, {
    cwd: kit,
    encoding: "utf8",
    env: {
      ...process.env,
      // the CLI wants a query-engine library on disk before it starts; diff never loads it
      PRISMA_QUERY_ENGINE_LIBRARY: path.join(kit, "engine.so.node"),
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
  });
}

ensureKit();
const schemaPath = path.join(root, "prisma/schema.prisma");
const snapshotPath = path.join(root, "prisma/migrations/schema.snapshot.prisma");
const current = readFileSync(schemaPath, "utf8");
const previous = existsSync(snapshotPath) ? readFileSync(snapshotPath, "utf8") : null;

const sqliteDir = path.join(root, "prisma/migrations/sqlite");
const existing = existsSync(sqliteDir) ? readdirSync(sqliteDir).filter((d) => /^\d{4}_/.test(d)) : [];
const id = `${String(existing.length + 1).padStart(4, "0")}_${name}`;

for (const provider of ["sqlite", "postgresql"] as const) {
  const sql = diff(provider, previous, current);
  if (!/\b(CREATE|ALTER|DROP)\b/.test(sql)) {
    console.error(`No schema change to migrate (${provider}).`);
    process.exit(1);
  }
  const dir = path.join(root, "prisma/migrations", provider, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "migration.sql"), sql);
  console.log(`wrote prisma/migrations/${provider}/${id}/migration.sql`);
}
copyFileSync(schemaPath, snapshotPath);
console.log("updated prisma/migrations/schema.snapshot.prisma");
