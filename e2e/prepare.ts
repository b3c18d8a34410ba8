/**
 * Run by the webServer command before the build (so the order against Playwright's
 * own start-up doesn't matter): a fresh database with a platform admin and one
 * ordinary user, made with our own CLI.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { E2E } from "./env";

function prepare() {
  const dir = path.join(E2E.root, ".tmp/e2e");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, ...E2E.serverEnv };
  const cli = (...args: string[]) =>
    execFileSync(path.join(E2E.root, "node_modules/.bin/tsx"), ["server/cli/main.ts", ...args], {
      cwd: E2E.root,
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
  cli("migrate");
  cli("admin", "create", "--email", E2E.admin.email, "--password", E2E.admin.password, "--name", "E2E Admin");
  cli("user", "create", "--email", E2E.member.email, "--password", E2E.member.password, "--name", "Mia Member");
}

prepare();
