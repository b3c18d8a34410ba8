/**
 * Generates one Prisma client per provider from the single schema source.
 *
 * prisma/schema.prisma is written for SQLite; the PostgreSQL schema is derived
 * from it (only the datasource provider and the client output differ) into
 * prisma/generated/postgresql.prisma. Runs on `npm install` (postinstall).
 *
 * PRISMA_SCHEMA_ENGINE_BINARY=/bin/true: Prisma 7's CLI fetches a schema-engine
 * binary before every command, which cannot happen offline; `generate` does not
 * use it. Never do this for `migrate` (it would exit 0 and apply nothing) —
 * migrations are ours: server/db/migrate.ts.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const source = path.join(root, "prisma/schema.prisma");
const pgSchemaPath = path.join(root, "prisma/generated/postgresql.prisma");

export function derivePostgresSchema(sqliteSchema: string): string {
  const out = sqliteSchema
    .replace(/provider\s*=\s*"sqlite"/, 'provider = "postgresql"')
    .replace(/output\s*=\s*"\.\.\/server\/db\/generated\/sqlite"/, 'output       = "../../server/db/generated/postgresql"');
  if (out === sqliteSchema || !out.includes('"postgresql"') || !out.includes("generated/postgresql")) {
    throw new Error("prisma-generate: could not derive the PostgreSQL schema (provider/output lines changed?)");
  }
  return out;
}

function main() {
  mkdirSync(path.dirname(pgSchemaPath), { recursive: true });
  writeFileSync(
    pgSchemaPath,
    "// GENERATED from prisma/schema.prisma by scripts/prisma-generate.ts — do not edit.\n" +
      derivePostgresSchema(readFileSync(source, "utf8")),
  );
  const prismaBin = path.join(root, "node_modules/.bin/prisma");
  for (const schema of [source, pgSchemaPath]) {
    execFileSync(prismaBin, ["generate", "--schema", schema, "--no-hints"], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
