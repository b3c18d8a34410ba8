import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { globToRegExp, pruneStandalone } from "./standalone-prune";

it("globs: ** spans directories, * stays within one segment", () => {
  expect(globToRegExp("./e2e/**").test("e2e/a/b.ts")).toBe(true);
  expect(globToRegExp("./**/*.test.ts").test("server/x/y.test.ts")).toBe(true);
  expect(globToRegExp("./**/*.test.ts").test("y.test.ts")).toBe(true);
  expect(globToRegExp("./*.md").test("docs/a.md")).toBe(false);
  expect(globToRegExp("./.env*").test(".env.local")).toBe(true);
  expect(globToRegExp("./.env*").test("server/env.ts")).toBe(false);
});

it("deletes dev-only files and secrets, keeps the server, node_modules and .next", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "prune-"));
  const files = ["server.js", ".env", "e2e/a.spec.ts", "server/env.ts", "server/env.test.ts", "README.md", "node_modules/x/README.md", ".next/server/a.js", "data/switchyard.db", "prisma/migrations/sqlite/0001_init/migration.sql"];
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), "x");
  }
  expect(pruneStandalone(dir).sort()).toEqual([".env", "README.md", "data/switchyard.db", "e2e/a.spec.ts", "server/env.test.ts"]);
  for (const keep of ["server.js", "server/env.ts", "node_modules/x/README.md", ".next/server/a.js", "prisma/migrations/sqlite/0001_init/migration.sql"]) {
    expect(existsSync(path.join(dir, keep)), keep).toBe(true);
  }
  expect(existsSync(path.join(dir, "e2e"))).toBe(false);
});
