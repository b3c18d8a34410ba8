/**
 * The CLI as people run it, for tests: `tsx server/cli/main.ts <args>` in a subprocess
 * of its own, asynchronously (a test's servers keep serving while it runs), with the
 * caller's environment (an integration worker's points at the run's database).
 */
import { spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const MAIN = path.join(ROOT, "server/cli/main.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** added to the environment; `undefined` removes a variable */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** written to stdin, which is then closed */
  input?: string;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env = { ...process.env };
  // debug output on stderr would break the tests' "exactly one error line"
  delete env.DEBUG;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [MAIN, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}
