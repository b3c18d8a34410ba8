/**
 * The CLI as people run it: a real subprocess (tsx server/cli/main.ts) against the
 * run's database. Each spawn costs about a second, so independent cases run
 * concurrently and each lifecycle test strings several commands together.
 */
import { loadMigrations } from "../db/migrate";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { verifyPassword } from "../auth/password";
import { db } from "../db/client";
import { verifyApiKey } from "../auth/verify-api-key";
import { CLI_ACTOR } from "../services/audit/audit";
import { addMember } from "../services/members/members";
import { type CliResult, runCli } from "../test/cli";
import { makeTenant, makeUser, uniq } from "../test/fixtures";
import { NOT_MIGRATED } from "./format";

const scratch = mkdtempSync(path.join(tmpdir(), "switchyard-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Result = CliResult;
const cli = runCli;

/** An expected failure: the exit code and exactly one `error:` line, no stack trace. */
function expectOneLineError(r: Result, code: number, pattern: RegExp, e = expect) {
  e(r.code, r.stderr).toBe(code);
  e(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  e(lines, r.stderr).toHaveLength(1);
  e(lines[0]).toMatch(/^error: /);
  e(lines[0]).toMatch(pattern);
}

const PASSWORD = "correct horse battery";

describe("cli: admin create", () => {
  it("creates a platform admin, refuses an existing email, and --update promotes and resets the password", async () => {
    const email = `admin-${uniq()}@example.test`;
    const created = await cli(["admin", "create", "--email", email.toUpperCase(), "--password", PASSWORD, "--name", "Root"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^created platform admin ${email} \\(usr_\\w+\\)\\n$`));
    const admin = await db().user.findUniqueOrThrow({ where: { email } });
    expect(admin).toMatchObject({ isPlatformAdmin: true, name: "Root" });
    const audit = await db().auditLog.findMany({ where: { targetId: admin.id } });
    expect(audit.map((a) => [a.action, a.actorLabel, a.actorUserId])).toEqual([["user.create", "cli", null]]);

    const again = await cli(["admin", "create", "--email", email, "--password", PASSWORD]);
    expectOneLineError(again, 1, /already exists \(add --update/);
    expect(await db().user.count({ where: { email } })).toBe(1);

    // --update on a plain user: promotes, resets the password (read from stdin)
    const user = await makeUser();
    const promoted = await cli(["--json", "admin", "create", "--email", user.email, "--password-stdin", "--update"], {
      input: "a brand new password\n",
    });
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ created: false, user: { id: user.id, isPlatformAdmin: true } });
    expect(promoted.stdout).not.toContain("passwordHash");
    const after = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.isPlatformAdmin).toBe(true);
    expect(await verifyPassword("a brand new password", after.passwordHash)).toBe(true);
    expect(await verifyPassword(PASSWORD, after.passwordHash)).toBe(false);
    const promoteAudit = await db().auditLog.findMany({ where: { targetId: user.id, action: "user.promote" } });
    expect(promoteAudit).toHaveLength(1);
  });
});

describe("cli: tenants", () => {
  it("create, list (text and --json), suspend and activate — each audited as the CLI", async () => {
    const slug = `cli-${uniq()}`;
    const created = await cli(["tenant", "create", "--slug", slug, "--name", "Acme Widgets"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^created tenant ${slug} \\(tnt_\\w+\\)\\n$`));
    const tenant = await db().tenant.findUniqueOrThrow({ where: { slug } });

    const [text, json] = await Promise.all([cli(["tenant", "list"]), cli(["tenant", "list", "--json"])]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SLUG\s+NAME\s+STATUS\s+MEMBERS\s+CREATED\s+ID$/);
    const row = lines.find((l) => l.startsWith(`${slug} `));
    expect(row).toMatch(new RegExp(`^${slug}\\s+Acme Widgets\\s+active\\s+0\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+${tenant.id}$`));
    // aligned: every row's NAME column starts where the header's does
    const nameCol = lines[0]!.indexOf("NAME");
    for (const l of lines.slice(1)) expect(l[nameCol - 1]).toBe(" ");
    expect(row!.indexOf("Acme Widgets")).toBe(nameCol);

    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout) as { slug: string }[];
    expect(listed.find((t) => t.slug === slug)).toMatchObject({
      id: tenant.id,
      name: "Acme Widgets",
      status: "active",
      memberCount: 0,
    });

    const suspended = await cli(["tenant", "suspend", "--slug", slug]);
    expect(suspended.code, suspended.stderr).toBe(0);
    expect(suspended.stdout).toBe(`suspended tenant ${slug}\n`);
    expect(await db().tenant.findUniqueOrThrow({ where: { slug } })).toMatchObject({ status: "suspended" });

    const activated = await cli(["tenant", "activate", "--slug", slug.toUpperCase(), "--json"]);
    expect(activated.code, activated.stderr).toBe(0);
    expect(JSON.parse(activated.stdout)).toMatchObject({ slug, status: "active", suspendedAt: null });

    const audit = await db().auditLog.findMany({ where: { tenantId: tenant.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actorLabel])).toEqual([
      ["tenant.create", "cli"],
      ["tenant.suspend", "cli"],
      ["tenant.activate", "cli"],
    ]);
  });
});

describe("cli: members", () => {
  it("user add with a role, role change, members list, remove", async () => {
    const tenant = await makeTenant();
    const [owner, other] = await Promise.all([makeUser(), makeUser()]);
    await addMember(db(), CLI_ACTOR, tenant.id, { email: owner.email, role: "owner" });

    const added = await cli(["user", "add", "--tenant", tenant.slug, "--email", other.email, "--role", "viewer"]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`^added ${other.email} to ${tenant.slug} as viewer \\(mem_\\w+\\)\\n$`));
    const membership = await db().membership.findUniqueOrThrow({
      where: { tenantId_userId: { tenantId: tenant.id, userId: other.id } },
    });
    expect(membership.role).toBe("viewer");

    const changed = await cli(["user", "role", "--tenant", tenant.slug, "--email", other.email, "--role", "admin"]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toBe(`${other.email} is now admin in ${tenant.slug} (was viewer)\n`);

    const members = await cli(["members", "--tenant", tenant.slug, "--json"]);
    expect(members.code, members.stderr).toBe(0);
    const list = JSON.parse(members.stdout) as { role: string; user: { email: string } }[];
    expect(list.map((m) => [m.user.email, m.role])).toEqual([
      [owner.email, "owner"],
      [other.email, "admin"],
    ]);

    const removed = await cli(["user", "remove", "--tenant", tenant.slug, "--email", other.email]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`removed ${other.email} from ${tenant.slug}\n`);
    expect(await db().membership.count({ where: { tenantId: tenant.id, userId: other.id } })).toBe(0);
    expect(await db().user.count({ where: { id: other.id } })).toBe(1);

    const audit = await db().auditLog.findMany({ where: { tenantId: tenant.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["tenant.create", "member.add", "member.add", "member.role_change", "member.remove"]);
    expect(audit.every((a) => a.actorLabel === "cli")).toBe(true);
  });
});

describe("cli: API keys", () => {
  it("key create (--json and text) prints the key once; key list shows prefixes; key revoke stops it", async () => {
    const tenant = await makeTenant();
    const [created, plain] = await Promise.all([
      cli([
        "--json", "key", "create", "--tenant", tenant.slug, "--name", "ci runner",
        "--scopes", "chat, models", "--models", "qwen-small,nomic-embed", "--expires", "30d",
      ]),
      cli(["key", "create", "--tenant", tenant.slug, "--name", "notebook"]),
    ]);
    expect(created.code, created.stderr).toBe(0);
    const out = JSON.parse(created.stdout) as Record<string, unknown> & { key: string; id: string; expiresAt: string };
    expect(out).toMatchObject({
      name: "ci runner",
      prefix: out.key.slice(0, 12),
      scopes: ["chat", "models"],
      models: ["qwen-small", "nomic-embed"],
      status: "active",
      tenant: { id: tenant.id, slug: tenant.slug },
    });
    expect(out.key).toMatch(/^sk-sy-[0-9A-Za-z]{43}$/);
    expect(out.id).toMatch(/^key_/);
    expect(out).not.toHaveProperty("hash");
    const days = (new Date(out.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    expect(await verifyApiKey(out.key)).toMatchObject({ tenantId: tenant.id, apiKeyId: out.id, scopes: ["chat", "models"] });

    expect(plain.code, plain.stderr).toBe(0);
    const plainKey = /^key: (sk-sy-\w+)$/m.exec(plain.stdout)?.[1];
    expect(plainKey, plain.stdout).toBeDefined();
    expect(plain.stdout).toMatch(new RegExp(`^created API key "notebook" \\(key_\\w+\\) in tenant ${tenant.slug}\n`));
    expect(plain.stdout).toContain("scopes: chat, completions, embeddings, models; models: all; expires: never");
    expect(plain.stdout).toMatch(/shown only this once/);
    expect(await verifyApiKey(plainKey!)).toMatchObject({ tenantId: tenant.id, models: null });

    const list = await cli(["key", "list", "--tenant", tenant.slug]);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+PREFIX\s+SCOPES\s+MODELS\s+STATUS\s+EXPIRES\s+LAST USED\s+CREATED\s+ID$/);
    expect(lines).toHaveLength(3);
    const ciRow = lines.find((l) => l.startsWith("ci runner "));
    expect(ciRow).toMatch(new RegExp(`^ci runner\\s+${out.key.slice(0, 12)}…\\s+chat,models\\s+qwen-small,nomic-embed\\s+active\\s`));
    expect(list.stdout).not.toContain(out.key);
    expect(list.stdout).not.toContain(plainKey!);

    const revoked = await cli(["key", "revoke", "--tenant", tenant.slug, "--id", out.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`revoked API key ${out.id} ("ci runner") in tenant ${tenant.slug}\n`);
    // another process revoked it: this process's cache lets it go within a second
    await vi.waitFor(async () => expect(await verifyApiKey(out.key)).toBeNull(), { timeout: 1000, interval: 20 });
    expect(await verifyApiKey(plainKey!)).not.toBeNull();

    const audit = await db().auditLog.findMany({ where: { tenantId: tenant.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actorLabel])).toEqual([
      ["tenant.create", "cli"],
      ["api_key.create", "cli"],
      ["api_key.create", "cli"],
      ["api_key.revoke", "cli"],
    ]);
    expect(JSON.stringify(audit)).not.toContain(out.key.slice(12));
  });
});

describe.concurrent("cli: bad input exits non-zero with one error line and changes nothing", () => {
  it("invalid slug", async ({ expect }) => {
    const name = `Bad ${uniq()}`;
    const r = await cli(["tenant", "create", "--slug", "Not A Slug!", "--name", name]);
    expectOneLineError(r, 1, /^error: --slug: Use lower-case letters, digits and dashes/, expect);
    expect(await db().tenant.count({ where: { name } })).toBe(0);
  });

  it("duplicate tenant slug", async ({ expect }) => {
    const existing = await makeTenant();
    const name = `Dup ${uniq()}`;
    const r = await cli(["tenant", "create", "--slug", existing.slug, "--name", name]);
    expectOneLineError(r, 1, new RegExp(`^error: The slug "${existing.slug}" is already taken$`), expect);
    expect(await db().tenant.count({ where: { name } })).toBe(0);
    expect(await db().auditLog.count({ where: { tenantId: existing.id } })).toBe(1);
  });

  it("unknown role", async ({ expect }) => {
    const [tenant, user] = await Promise.all([makeTenant(), makeUser()]);
    const r = await cli(["user", "add", "--tenant", tenant.slug, "--email", user.email, "--role", "boss"]);
    expectOneLineError(r, 1, /^error: --role: Role must be one of: owner, admin, member, viewer$/, expect);
    expect(await db().membership.count({ where: { tenantId: tenant.id } })).toBe(0);
  });

  it("adding a user that does not exist", async ({ expect }) => {
    const tenant = await makeTenant();
    const email = `ghost-${uniq()}@example.test`;
    const r = await cli(["user", "add", "--tenant", tenant.slug, "--email", email, "--role", "member"]);
    expectOneLineError(r, 1, new RegExp(`^error: User with email ${email} not found$`), expect);
    expect(await db().membership.count({ where: { tenantId: tenant.id } })).toBe(0);
    expect(await db().auditLog.count({ where: { tenantId: tenant.id } })).toBe(1); // tenant.create only
  });

  it("missing flag (usage error, exit 2)", async ({ expect }) => {
    const slug = `miss-${uniq()}`;
    const r = await cli(["tenant", "create", "--slug", slug]);
    expectOneLineError(r, 2, /^error: missing --name \(usage: npm run cli -- tenant create/, expect);
    expect(await db().tenant.count({ where: { slug } })).toBe(0);
  });

  it("unknown API key scope, and a bad --expires", async ({ expect }) => {
    const tenant = await makeTenant();
    const [scope, expires] = await Promise.all([
      cli(["key", "create", "--tenant", tenant.slug, "--name", "k", "--scopes", "chat,admin"]),
      cli(["key", "create", "--tenant", tenant.slug, "--name", "k", "--expires", "1y"]),
    ]);
    expectOneLineError(scope, 1, /^error: --scopes: Unknown scope "admin" \(use chat, completions, embeddings, models\)$/, expect);
    expectOneLineError(expires, 1, /^error: --expires: Use a duration like "30d", "12h" or "90m"/, expect);
    expect(await db().apiKey.count({ where: { tenantId: tenant.id } })).toBe(0);
  });

  it("unknown command (usage error, exit 2)", async ({ expect }) => {
    const r = await cli(["tenants", "list"]);
    expectOneLineError(r, 2, /^error: unknown command "tenants"/, expect);
  });

  it("an invalid environment names the variable", async ({ expect }) => {
    const cwd = mkdtempSync(path.join(scratch, "noenv-")); // no .env here
    const r = await cli(["tenant", "list"], { cwd, env: { AUTH_SECRET: undefined, NEXTAUTH_SECRET: undefined } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: invalid environment:\n {2}AUTH_SECRET: is required[^\n]*\n$/);
  });
});

describe("cli: environment and migrations", () => {
  it("loads .env from the current directory (the process environment wins)", async () => {
    const tenant = await makeTenant();
    const cwd = mkdtempSync(path.join(scratch, "dotenv-"));
    writeFileSync(
      path.join(cwd, ".env"),
      `DATABASE_URL=${process.env.DATABASE_URL}\nAUTH_SECRET=dotenv-secret-0123456789abcdef0123456789\nLOG_LEVEL=nonsense\n`,
    );
    // LOG_LEVEL=nonsense in .env would fail validation if it won over the environment
    const r = await cli(["members", "--tenant", tenant.slug, "--json"], {
      cwd,
      env: { DATABASE_URL: undefined, AUTH_SECRET: undefined, NEXTAUTH_SECRET: undefined, LOG_LEVEL: "warn" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("an unmigrated database gets a hint, and `migrate` fixes it", async () => {
    const env = { DATABASE_URL: `file:${path.join(scratch, `fresh-${uniq()}.db`)}` };
    const before = await cli(["user", "list"], { env });
    expectOneLineError(before, 1, new RegExp(`^error: ${NOT_MIGRATED.replace(/[.*+?^${}()|[\]\\`]/g, "\\$&")}$`));

    const migrated = await cli(["migrate", "--json"], { env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(JSON.parse(migrated.stdout)).toMatchObject({ provider: "sqlite", alreadyApplied: 0, applied: loadMigrations("sqlite").map((m) => m.id) });
  });
});
