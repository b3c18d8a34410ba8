/**
 * `key signing`, `key allowlist` and `tenant allowlist` as people run them (a real
 * tsx subprocess against the run's database).
 */
import { describe, expect, it } from "vitest";
import { db } from "../db/client";
import { openSigningSecret } from "../auth/secret-box";
import { createApiKey } from "../services/api-keys/api-keys";
import { CLI_ACTOR } from "../services/audit/audit";
import { runCli } from "../test/cli";
import { makeTenant, uniq } from "../test/fixtures";

const cli = runCli;

describe("cli: key security", () => {
  it("key signing --on prints the secret once (stored sealed), --rotate --grace, then allowlists for key and tenant", async () => {
    const tenant = await makeTenant();
    const { apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
    const on = await cli(["key", "signing", "--tenant", tenant.slug, "--id", apiKey.id, "--on", "--json"]);
    expect(on.code, on.stderr).toBe(0);
    const { secret } = JSON.parse(on.stdout) as { secret: string };
    expect(secret).toMatch(/^sy-sig-[0-9A-Za-z]{43}$/);
    const row = await db().apiKey.findFirstOrThrow({ where: { id: apiKey.id, tenantId: tenant.id } });
    expect(row.signingSecretEnc).not.toContain(secret);
    expect(openSigningSecret(row.signingSecretEnc!, apiKey.id)).toBe(secret);

    const rotated = await cli(["key", "signing", "--tenant", tenant.slug, "--id", apiKey.id, "--rotate", "--grace", "600"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/signing secret: sy-sig-/);
    expect(rotated.stdout).toMatch(/previous secret signs until/);

    const set = await cli(["key", "allowlist", "--tenant", tenant.slug, "--id", apiKey.id, "--set", "203.0.113.0/24, 2001:DB8::/32"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe(`updated IP allowlist of API key ${apiKey.id} ("${apiKey.name}"): 203.0.113.0/24, 2001:db8::/32`);

    const bad = await cli(["tenant", "allowlist", "--slug", tenant.slug, "--set", "10.0.0.1/8"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error: .*"10\.0\.0\.1\/8" is not an IP address or CIDR range/);
    const ok = await cli(["tenant", "allowlist", "--slug", tenant.slug, "--set", "10.0.0.0/8"]);
    expect(ok.stdout.trim()).toBe(`updated IP allowlist of tenant ${tenant.slug}: 10.0.0.0/8`);

    const actions = (await db().auditLog.findMany({ where: { tenantId: tenant.id }, orderBy: { createdAt: "asc" } })).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(["api_key.signing_enable", "api_key.signing_rotate", "api_key.ip_allowlist", "tenant.ip_allowlist"]));
    const audit = JSON.stringify(await db().auditLog.findMany({ where: { tenantId: tenant.id } }));
    expect(audit).not.toMatch(/sy-sig-/);
  });
});
