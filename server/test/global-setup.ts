/**
 * Integration tests: creates a fresh database for this run (SQLite file or a new
 * PostgreSQL database), applies the committed migrations with our own migrator,
 * and drops it afterwards. TEST_DB=sqlite (default) | postgresql;
 * TEST_PG_URL points at a server where we may create databases.
 */
import type { TestProject } from "vitest/node";
import { migrate } from "../db/migrate";
import { createScratchDatabase } from "../db/scratch";

export default async function setup(project: TestProject) {
  const kind = process.env.TEST_DB ?? "sqlite";
  const { url, drop } = await createScratchDatabase(kind, {
    pgAdminUrl: process.env.TEST_PG_URL ?? "postgresql://postgres:postgres@localhost:5432/postgres",
    name: `switchyard_test_${process.pid}_${Date.now()}`,
  });
  await migrate(url);
  project.provide("databaseUrl", url);
  return drop;
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
