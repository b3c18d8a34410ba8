/**
 * Integration tests: creates a fresh database for this run (SQLite file or a new
 * PostgreSQL database), applies the committed migrations with our own migrator,
 * and drops it afterwards. TEST_DB=sqlite (default) | postgresql;
 * TEST_PG_URL points at a server where we may create databases.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { migrate } from "../db/migrate";

export default async function setup(project: TestProject) {
  const kind = process.env.TEST_DB ?? "sqlite";
  let url: string;
  let teardown: () => Promise<void>;
  if (kind === "sqlite") {
    const dir = mkdtempSync(path.join(tmpdir(), "switchyard-int-"));
    url = `file:${path.join(dir, "test.db")}`;
    teardown = async () => rmSync(dir, { recursive: true, force: true });
  } else if (kind === "postgresql") {
    const admin = process.env.TEST_PG_URL ?? "postgresql://postgres:postgres@localhost:5432/postgres";
    const name = `switchyard_test_${process.pid}_${Date.now()}`;
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`CREATE DATABASE "${name}"`);
    await c.end();
    const u = new URL(admin);
    u.pathname = `/${name}`;
    url = u.toString();
    teardown = async () => {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await d.end();
    };
  } else {
    throw new Error(`TEST_DB must be sqlite or postgresql, got ${kind}`);
  }
  await migrate(url);
  project.provide("databaseUrl", url);
  return teardown;
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
