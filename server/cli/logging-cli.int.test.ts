/** `tenant logging` and `retention purge` as people run them: a real subprocess against the run's database. */
import { describe, expect, it } from "vitest";
import { db } from "../db/client";
import { runCli } from "../test/cli";
import { makeTenant } from "../test/fixtures";

const cli = runCli;

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
