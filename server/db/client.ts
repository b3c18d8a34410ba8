/**
 * The Prisma client for whichever database DATABASE_URL names.
 *
 * SQLite (`file:`) and PostgreSQL (`postgresql://`) each need their own generated
 * client (a client generated for one provider refuses the other's adapter), both
 * from the same schema, so their APIs are identical; `Db` is typed by the SQLite one.
 * One instance per process, in a process slot (server/runtime/registry.ts), so Next's
 * bundles share it and dev reloads don't leak pools.
 */
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { databasePoolEnv, env } from "../env";
import { processSlot } from "../runtime/registry";
import { PrismaClient as PgClient } from "./generated/postgresql/client";
import { PrismaClient as SqliteClient } from "./generated/sqlite/client";
import { providerOf, sqlitePathFromUrl } from "./url";

export type Db = SqliteClient;
/** The client inside `db.$transaction(async (tx) => …)`. */
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];
export type { Prisma } from "./generated/sqlite/client";
export type { Role, TenantStatus } from "./generated/sqlite/enums";

export function createDb(url: string): Db {
  if (providerOf(url) === "sqlite") {
    return new SqliteClient({
      adapter: new PrismaBetterSqlite3({ url: sqlitePathFromUrl(url), timeout: 10_000 }),
    });
  }
  const client = new PgClient({
    adapter: new PrismaPg({ connectionString: url, max: databasePoolEnv().DATABASE_POOL_SIZE }),
  });
  return client as unknown as Db;
}

const slot = processSlot("db.client", () => createDb(env().DATABASE_URL));

export function db(): Db {
  return slot.get();
}
