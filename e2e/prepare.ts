/**
 * Run by the webServer command before the build (so the order against Playwright's
 * own start-up doesn't matter): a fresh database set up the way a new user's is —
 * `npm run setup` (platform admin, demo model, default tenant and its API key,
 * which we keep for the API tests) — plus one ordinary user, made with our CLI.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
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
  const out = execFileSync(path.join(E2E.root, "node_modules/.bin/tsx"), ["scripts/setup.ts"], {
    cwd: E2E.root,
    env: { ...env, ADMIN_EMAIL: E2E.admin.email, ADMIN_PASSWORD: E2E.admin.password },
    encoding: "utf8",
  });
  const key = /sk-sy-[A-Za-z0-9]+/.exec(out)?.[0];
  if (!key) throw new Error(`setup printed no API key:\n${out}`);
  writeFileSync(path.join(dir, "api-key"), key);
  cli("user", "create", "--email", E2E.member.email, "--password", E2E.member.password, "--name", "Mia Member");
  cli("user", "create", "--email", E2E.viewer.email, "--password", E2E.viewer.password, "--name", "Vic Viewer");
  cli("user", "add", "--tenant", "default", "--email", E2E.viewer.email, "--role", "viewer");
}

prepare();
