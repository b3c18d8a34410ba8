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
import { createScratchDatabase } from "../db/scratch";
import { TEST_AUTH_SECRET, scanRun } from "./secret-scan";

export default async function setup(project: TestProject) {
  const kind = process.env.TEST_DB ?? "sqlite";
  const { url, drop } = await createScratchDatabase(kind, {
    pgAdminUrl: process.env.TEST_PG_URL ?? "postgresql://postgres:postgres@localhost:5432/postgres",
    name: `switchyard_test_${process.pid}_${Date.now()}`,
  });
  await migrate(url);
  project.provide("databaseUrl", url);
  // every worker's (and replica's) output goes here too, for the leak scan at the end
  const logDir = mkdtempSync(path.join(tmpdir(), "switchyard-test-logs-"));
  project.provide("logDir", logDir);
  return async () => {
    try {
      // the run's leak check (server/test/secret-scan.ts): no key material in plain text anywhere
      const findings = await scanRun({ databaseUrl: url, logDir, authSecret: process.env.AUTH_SECRET ?? TEST_AUTH_SECRET });
      if (findings.length) {
        const list = findings.slice(0, 20).map((f) => `  ${f.where}: ${f.what}`).join("\n");
        process.exitCode = 1;
        throw new Error(`Key material in plain text after the integration run (${findings.length}):\n${list}`);
      }
    } finally {
      rmSync(logDir, { recursive: true, force: true });
      await drop();
    }
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    logDir: string;
  }
}
