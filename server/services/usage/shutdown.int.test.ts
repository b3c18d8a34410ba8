/**
 * Shutdown as a server process lives it: a real child process (shutdown-child.ts)
 * records rows that are still buffered when SIGTERM arrives; afterwards the run's
 * database must hold every one of them.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, it } from "vitest";
import { db } from "../../db/client";
import { makeTenant } from "../../test/fixtures";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const CHILD = path.join(import.meta.dirname, "shutdown-child.ts");

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string[];
  stderr: string;
}

/** Starts the child; sends `signal` once it printed "ready" (or never, for null). */
function runChild(tenantId: string, rows: number, mode: string, signal: NodeJS.Signals | null): Promise<Run> {
  return new Promise((resolve, reject) => {
    // node --import tsx (not the tsx CLI, which relays signals through a second process)
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, tenantId, String(rows), mode], {
      cwd: ROOT,
      env: process.env, // DATABASE_URL of this run (server/test/setup-env.ts)
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (signal && out.includes("ready")) {
        child.kill(signal);
        signal = null;
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, sig) => resolve({ code, signal: sig, stdout: out.trim().split("\n"), stderr }));
  });
}

const count = (tenantId: string) => db().requestLog.count({ where: { tenantId } });

// each case spawns a process (~2 s), so they run side by side
describe.concurrent("shutdown hooks (subprocess)", () => {
  it("SIGTERM with no other listener: runs the hooks in priority order, flushes all 1,000 buffered rows, exits 0", async ({ expect }) => {
    const t = await makeTenant();
    const run = await runChild(t.id, 1000, "plain", "SIGTERM");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toEqual(["ready buffered=1000", "hook abort buffered=1000", "hook after-flush buffered=0"]);
    expect(await count(t.id)).toBe(1000);
    const rollup = await db().usageRollup.findMany({ where: { tenantId: t.id } });
    expect(rollup.reduce((s, r) => s + r.requests, 0)).toBe(1000);
    expect(run.stderr).toContain("SIGTERM: shutting down");
  });

  it("SIGTERM under a Next-like host listener: holds the host's exit until rows recorded while it drained are flushed, keeps its exit code", async ({ expect }) => {
    const t = await makeTenant();
    const run = await runChild(t.id, 1000, "host", "SIGTERM");
    expect(run.code, run.stderr).toBe(143);
    expect(run.stdout).toEqual([
      "ready buffered=1000",
      "host draining",
      "hook abort buffered=1000",
      "host exit 143",
      "hook after-flush buffered=0",
    ]);
    expect(await count(t.id)).toBe(1010);
    expect(await db().requestLog.count({ where: { tenantId: t.id, endpoint: "late" } })).toBe(10);
  });

  it("SIGINT is handled the same way", async ({ expect }) => {
    const t = await makeTenant();
    const run = await runChild(t.id, 200, "plain", "SIGINT");
    expect(run.code, run.stderr).toBe(0);
    expect(await count(t.id)).toBe(200);
  });

  it("a script that just ends flushes on beforeExit", async ({ expect }) => {
    const t = await makeTenant();
    const run = await runChild(t.id, 300, "natural", null);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toEqual(["ready buffered=300"]); // no signal: the shutdown hooks did not run
    expect(await count(t.id)).toBe(300);
    expect(run.stderr).not.toContain("NOT written");
  });

  it("a hook that never settles: the hard timeout exits anyway and says what was left", async ({ expect }) => {
    const t = await makeTenant();
    const run = await runChild(t.id, 50, "stuck", "SIGTERM");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/did not finish within 1000 ms; exiting anyway with 50 usage rows unwritten; still running: never-settles/);
    expect(run.stderr).toContain("with 50 usage rows NOT written");
    expect(await count(t.id)).toBe(0);
  });
});
