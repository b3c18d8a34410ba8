/** `tenant logging` and `retention purge` as people run them: a real subprocess against the run's database. */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { db } from "../db/client";
import { makeTenant } from "../test/fixtures";

const ROOT = path.resolve(import.meta.dirname, "../..");

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.DEBUG;
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "server/cli/main.ts"), ...args], { cwd: ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("cli: tenant logging", () => {
  it("turns body logging on with a sample rate and a custom pattern, refuses a catastrophic one, and purges", async () => {
    const t = await makeTenant();
    const on = await cli([
      "tenant", "logging", "--slug", t.slug, "--bodies", "on", "--sample", "0.25", "--body-days", "7", "--viewers-see-bodies", "on",
      "--redact-json", JSON.stringify([{ name: "ticket", pattern: "TCK-\\d{5}" }]),
    ]);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain(`updated logging of tenant ${t.slug}:`);
    expect(on.stdout).toContain("bodies             on (all keys, sample 0.25)");
    expect(on.stdout).toContain("custom redactions  ticket");
    expect(await db().logPolicy.findUniqueOrThrow({ where: { tenantId: t.id } })).toMatchObject({
      bodiesEnabled: true,
      bodySampleRate: 0.25,
      bodyRetentionDays: 7,
      viewersSeeBodies: true,
    });
    expect(await db().auditLog.count({ where: { tenantId: t.id, action: "tenant.log_policy", actorLabel: "cli" } })).toBe(1);

    const bad = await cli(["tenant", "logging", "--slug", t.slug, "--redact-json", JSON.stringify([{ name: "x", pattern: "(a+)+" }])]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error: .*nest quantifiers/);
    expect(bad.stderr.trimEnd().split("\n")).toHaveLength(1);

    const purge = await cli(["retention", "purge"]);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toMatch(/^deleted \d+ usage rows and \d+ stored bodies in \d+ tenants/);
  }, 60_000);
});
