/**
 * Bad input on every mutation: BAD_REQUEST, a message that names the field (as
 * the client sees it, after the errorFormatter), and nothing half-written.
 * Also: the error formatter masks internal errors.
 */
import { describe, expect, it, vi } from "vitest";
import { type Db, db } from "../db/client";
import { type TestTenant, callerFor, makeTenant, makeUser, tenantWithMember } from "../test/fixtures";
import { procedureCases } from "../test/procedures";
import { type ProcedurePath, auditBy, invoke, rejectsWith, tenantState } from "../test/trpc";
import { createContext } from "./init";
import { createCaller } from "./root";

interface BadInput {
  why: string;
  /** the field the error must name */
  field: string;
  input: (t: TestTenant, actor: { id: string }) => Record<string, unknown>;
}

const long = (n: number) => "x".repeat(n);
const goodUser = { email: "fresh@example.test", name: "Fresh", password: "long enough password" };

/** Per mutation, inputs that must be refused. A new mutation without an entry fails the coverage test below. */
const LOG_POLICY = (t: { id: string }) => ({
  tenantId: t.id,
  bodiesEnabled: true,
  bodyKeyIds: null,
  bodySampleRate: 1,
  redactPatterns: [],
  bodyRetentionDays: 30,
  usageRetentionDays: null,
  viewersSeeBodies: false,
});

const BAD_INPUTS: Partial<Record<ProcedurePath, BadInput[]>> = {
  "tenants.create": [
    { why: "slug too short", field: "slug", input: () => ({ slug: "a", name: "Acme" }) },
    { why: "slug too long", field: "slug", input: () => ({ slug: long(41), name: "Acme" }) },
    { why: "slug starts with a dash", field: "slug", input: () => ({ slug: "-acme", name: "Acme" }) },
    { why: "slug ends with a dash", field: "slug", input: () => ({ slug: "acme-", name: "Acme" }) },
    { why: "slug with underscore", field: "slug", input: () => ({ slug: "ac_me", name: "Acme" }) },
    { why: "slug with a space", field: "slug", input: () => ({ slug: "ac me", name: "Acme" }) },
    { why: "slug missing", field: "slug", input: () => ({ name: "Acme" }) },
    { why: "empty name", field: "name", input: () => ({ slug: "bad-input-acme", name: "" }) },
    { why: "blank name", field: "name", input: () => ({ slug: "bad-input-acme", name: "   " }) },
    { why: "name too long", field: "name", input: () => ({ slug: "bad-input-acme", name: long(101) }) },
    { why: "name not a string", field: "name", input: () => ({ slug: "bad-input-acme", name: 42 }) },
  ],
  "tenants.update": [
    { why: "empty name", field: "name", input: (t) => ({ tenantId: t.id, name: "" }) },
    { why: "blank name", field: "name", input: (t) => ({ tenantId: t.id, name: " \t " }) },
    { why: "name too long", field: "name", input: (t) => ({ tenantId: t.id, name: long(101) }) },
    { why: "name missing", field: "name", input: (t) => ({ tenantId: t.id }) },
    { why: "tenantId empty", field: "tenantId", input: () => ({ tenantId: "", name: "Fine" }) },
  ],
  "tenants.setStatus": [
    { why: "unknown status", field: "status", input: (t) => ({ tenantId: t.id, status: "deleted" }) },
    { why: "status missing", field: "status", input: (t) => ({ tenantId: t.id }) },
    { why: "tenantId empty", field: "tenantId", input: () => ({ tenantId: "", status: "suspended" }) },
  ],
  "members.add": [
    { why: "invalid email", field: "email", input: (t) => ({ tenantId: t.id, email: "not-an-email", role: "member" }) },
    { why: "empty email", field: "email", input: (t) => ({ tenantId: t.id, email: "", role: "member" }) },
    {
      why: "email too long",
      field: "email",
      input: (t) => ({ tenantId: t.id, email: `${long(250)}@example.test`, role: "member" }),
    },
    { why: "unknown role", field: "role", input: (t) => ({ tenantId: t.id, email: "a@example.test", role: "superuser" }) },
    { why: "role missing", field: "role", input: (t) => ({ tenantId: t.id, email: "a@example.test" }) },
  ],
  "members.changeRole": [
    { why: "empty membershipId", field: "membershipId", input: (t) => ({ tenantId: t.id, membershipId: "", role: "admin" }) },
    { why: "unknown role", field: "role", input: (t) => ({ tenantId: t.id, membershipId: "mem_x", role: "root" }) },
  ],
  "members.remove": [
    { why: "empty membershipId", field: "membershipId", input: (t) => ({ tenantId: t.id, membershipId: "" }) },
    { why: "membershipId missing", field: "membershipId", input: (t) => ({ tenantId: t.id }) },
  ],
  "users.create": [
    { why: "invalid email", field: "email", input: () => ({ ...goodUser, email: "fresh@" }) },
    { why: "password too short", field: "password", input: () => ({ ...goodUser, password: "123456789" }) },
    { why: "password too long", field: "password", input: () => ({ ...goodUser, password: long(201) }) },
    { why: "name too long", field: "name", input: () => ({ ...goodUser, name: long(101) }) },
    { why: "isPlatformAdmin not a boolean", field: "isPlatformAdmin", input: () => ({ ...goodUser, isPlatformAdmin: "yes" }) },
  ],
  "users.setDisabled": [
    { why: "empty userId", field: "userId", input: () => ({ userId: "", disabled: true }) },
    { why: "disabled not a boolean", field: "disabled", input: (_t, a) => ({ userId: a.id, disabled: "true" }) },
    { why: "disabled missing", field: "disabled", input: (_t, a) => ({ userId: a.id }) },
  ],
  "apiKeys.create": [
    { why: "empty name", field: "name", input: (t) => ({ tenantId: t.id, name: "" }) },
    { why: "blank name", field: "name", input: (t) => ({ tenantId: t.id, name: "   " }) },
    { why: "name too long", field: "name", input: (t) => ({ tenantId: t.id, name: long(101) }) },
    { why: "name missing", field: "name", input: (t) => ({ tenantId: t.id }) },
    { why: "unknown scope", field: "scopes", input: (t) => ({ tenantId: t.id, name: "k", scopes: ["chat", "admin"] }) },
    { why: "no scopes", field: "scopes", input: (t) => ({ tenantId: t.id, name: "k", scopes: [] }) },
    { why: "scopes not a list", field: "scopes", input: (t) => ({ tenantId: t.id, name: "k", scopes: "chat" }) },
    { why: "empty model list", field: "models", input: (t) => ({ tenantId: t.id, name: "k", models: [] }) },
    { why: "blank model name", field: "models", input: (t) => ({ tenantId: t.id, name: "k", models: ["a", " "] }) },
    {
      why: "expiry in the past",
      field: "expiresAt",
      input: (t) => ({ tenantId: t.id, name: "k", expiresAt: new Date(Date.now() - 60_000) }),
    },
    { why: "expiry not a date", field: "expiresAt", input: (t) => ({ tenantId: t.id, name: "k", expiresAt: "tomorrow" }) },
  ],
  "apiKeys.revoke": [
    { why: "empty keyId", field: "keyId", input: (t) => ({ tenantId: t.id, keyId: "" }) },
    { why: "keyId missing", field: "keyId", input: (t) => ({ tenantId: t.id }) },
  ],
  "limits.setTenant": [
    { why: "rpm zero", field: "rpm", input: (t) => ({ tenantId: t.id, rpm: 0 }) },
    { why: "tpm a fraction", field: "tpm", input: (t) => ({ tenantId: t.id, tpm: 1.5 }) },
    { why: "budget a string", field: "monthlyTokenBudget", input: (t) => ({ tenantId: t.id, monthlyTokenBudget: "lots" }) },
    { why: "warning above 100 %", field: "budgetWarnPercent", input: (t) => ({ tenantId: t.id, budgetWarnPercent: 101 }) },
    { why: "spend budget not an amount", field: "monthlySpendBudget", input: (t) => ({ tenantId: t.id, monthlySpendBudget: "$50" }) },
    { why: "daily spend budget zero", field: "dailySpendBudget", input: (t) => ({ tenantId: t.id, dailySpendBudget: "0" }) },
  ],
  "logging.update": [
    { why: "sample rate above 1", field: "bodySampleRate", input: (t) => ({ ...LOG_POLICY(t), bodySampleRate: 1.5 }) },
    { why: "retention of 0 days", field: "bodyRetentionDays", input: (t) => ({ ...LOG_POLICY(t), bodyRetentionDays: 0 }) },
    { why: "a nested quantifier", field: "redactPatterns.0.pattern", input: (t) => ({ ...LOG_POLICY(t), redactPatterns: [{ name: "x", pattern: "(a+)+$" }] }) },
    { why: "a pattern that does not compile", field: "redactPatterns.0.pattern", input: (t) => ({ ...LOG_POLICY(t), redactPatterns: [{ name: "x", pattern: "(" }] }) },
  ],
  "limits.setKey": [
    { why: "keyId missing", field: "keyId", input: (t) => ({ tenantId: t.id, rpm: 10 }) },
    { why: "negative concurrency", field: "maxConcurrent", input: (t) => ({ tenantId: t.id, keyId: "key_x", maxConcurrent: -1 }) },
  ],
  "apiKeys.rotate": [
    { why: "negative grace", field: "graceSeconds", input: (t) => ({ tenantId: t.id, keyId: "key_x", graceSeconds: -1 }) },
    { why: "grace over 30 days", field: "graceSeconds", input: (t) => ({ tenantId: t.id, keyId: "key_x", graceSeconds: 31 * 86400 }) },
    { why: "fractional grace", field: "graceSeconds", input: (t) => ({ tenantId: t.id, keyId: "key_x", graceSeconds: 1.5 }) },
    { why: "grace missing", field: "graceSeconds", input: (t) => ({ tenantId: t.id, keyId: "key_x" }) },
    { why: "empty keyId", field: "keyId", input: (t) => ({ tenantId: t.id, keyId: "", graceSeconds: 60 }) },
  ],
  "apiKeys.enableSigning": [{ why: "keyId missing", field: "keyId", input: (t) => ({ tenantId: t.id }) }],
  "apiKeys.disableSigning": [{ why: "empty keyId", field: "keyId", input: (t) => ({ tenantId: t.id, keyId: "" }) }],
  "apiKeys.rotateSigningSecret": [
    { why: "negative grace", field: "graceSeconds", input: (t) => ({ tenantId: t.id, keyId: "key_x", graceSeconds: -1 }) },
    { why: "grace over 30 days", field: "graceSeconds", input: (t) => ({ tenantId: t.id, keyId: "key_x", graceSeconds: 31 * 86400 }) },
  ],
  "apiKeys.setIpAllowlist": [
    { why: "not a CIDR", field: "ipAllowlist", input: (t) => ({ tenantId: t.id, keyId: "key_x", ipAllowlist: ["10.0.0.300"] }) },
    { why: "host bits set", field: "ipAllowlist", input: (t) => ({ tenantId: t.id, keyId: "key_x", ipAllowlist: ["10.0.0.1/8"] }) },
    { why: "too many ranges", field: "ipAllowlist", input: (t) => ({ tenantId: t.id, keyId: "key_x", ipAllowlist: Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`) }) },
  ],
  "tenants.setIpAllowlist": [
    { why: "bad IPv6", field: "ipAllowlist", input: (t) => ({ tenantId: t.id, ipAllowlist: ["2001:db8:::1"] }) },
    { why: "not a list", field: "ipAllowlist", input: (t) => ({ tenantId: t.id, ipAllowlist: "10.0.0.0/8" }) },
  ],
  "usage.exportCsv": [
    { why: "unknown status", field: "filter.status", input: (t) => ({ tenantId: t.id, filter: { status: "weird" } }) },
    { why: "start after end", field: "filter.to", input: (t) => ({ tenantId: t.id, filter: { from: "2026-02-01", to: "2026-01-01" } }) },
    { why: "not a date", field: "filter.from", input: (t) => ({ tenantId: t.id, filter: { from: "yesterday-ish" } }) },
  ],
  "models.add": [
    { why: "name with a space", field: "name", input: () => ({ name: "bad name", source: "/tmp/x.gguf" }) },
    { why: "empty source", field: "source", input: () => ({ name: "fine", source: "" }) },
    { why: "parallel 0", field: "parallel", input: () => ({ name: "fine", source: "/tmp/x.gguf", parallel: 0 }) },
    { why: "unknown kind", field: "kind", input: () => ({ name: "fine", source: "/tmp/x.gguf", kind: "vision" }) },
  ],
  "models.remove": [{ why: "empty name", field: "name", input: () => ({ name: "" }) }],
  "models.load": [{ why: "empty name", field: "name", input: () => ({ name: "" }) }],
  "models.pull": [{ why: "name with a space", field: "name", input: () => ({ name: "no such model" }) }],
  "models.unload": [{ why: "empty name", field: "name", input: () => ({ name: "" }) }],
  "models.setAccess": [
    { why: "public missing", field: "public", input: () => ({ name: "fine", tenantIds: [] }) },
    { why: "tenant ids not strings", field: "tenantIds.0", input: () => ({ name: "fine", public: false, tenantIds: [1] }) },
  ],
  "routing.create": [
    { why: "alias with a space", field: "alias", input: (t) => ({ tenantId: t.id, alias: "my alias", strategy: "single", targets: [{ type: "model", model: "m" }] }) },
    { why: "unknown strategy", field: "strategy", input: (t) => ({ tenantId: t.id, alias: "a", strategy: "random", targets: [{ type: "model", model: "m" }] }) },
    { why: "no targets", field: "targets", input: (t) => ({ tenantId: t.id, alias: "a", strategy: "fallback", targets: [] }) },
    { why: "empty tiers", field: "targets", input: (t) => ({ tenantId: t.id, alias: "a", strategy: "difficulty", targets: [{ type: "model", model: "m" }] }) },
    {
      why: "weight not positive",
      field: "targets.1.weight",
      input: (t) => ({ tenantId: t.id, alias: "a", strategy: "weighted", targets: [{ type: "model", model: "m", weight: 1 }, { type: "model", model: "n", weight: 0 }] }),
    },
    {
      why: "negative weight",
      field: "targets.0.weight",
      input: (t) => ({ tenantId: t.id, alias: "a", strategy: "weighted", targets: [{ type: "model", model: "m", weight: -2 }, { type: "model", model: "n" }] }),
    },
    { why: "single with two targets", field: "targets", input: (t) => ({ tenantId: t.id, alias: "a", strategy: "single", targets: [{ type: "model", model: "m" }, { type: "model", model: "n" }] }) },
    { why: "unknown target type", field: "targets.0.type", input: (t) => ({ tenantId: t.id, alias: "a", strategy: "single", targets: [{ type: "url", url: "x" }] }) },
    { why: "share of 1", field: "strongShare", input: (t) => ({ tenantId: t.id, alias: "a", strategy: "difficulty", strongShare: 1, targets: [{ type: "model", model: "m" }, { type: "model", model: "n" }] }) },
    {
      why: "embedding model without difficulty",
      field: "embeddingModel",
      input: (t) => ({ tenantId: t.id, alias: "a", strategy: "fallback", embeddingModel: "e", targets: [{ type: "model", model: "m" }, { type: "model", model: "n" }] }),
    },
    { why: "same target twice", field: "targets", input: (t) => ({ tenantId: t.id, alias: "a", strategy: "fallback", targets: [{ type: "model", model: "m" }, { type: "model", model: "m" }] }) },
  ],
  "routing.update": [
    { why: "policyId empty", field: "policyId", input: (t) => ({ tenantId: t.id, policyId: "", strategy: "single", targets: [{ type: "model", model: "m" }] }) },
    { why: "empty tiers", field: "targets", input: (t) => ({ tenantId: t.id, policyId: "pol_x", strategy: "difficulty", targets: [] }) },
  ],
  "routing.restore": [
    { why: "version 0", field: "version", input: (t) => ({ tenantId: t.id, policyId: "pol_x", version: 0 }) },
    { why: "fractional version", field: "version", input: (t) => ({ tenantId: t.id, policyId: "pol_x", version: 1.5 }) },
  ],
  "routing.remove": [{ why: "policyId missing", field: "policyId", input: (t) => ({ tenantId: t.id }) }],
  "pricing.set": [
    { why: "price with a comma", field: "input", input: () => ({ model: "m", input: "1,5", output: "1" }) },
    { why: "negative output price", field: "output", input: () => ({ model: "m", input: "1", output: "-1" }) },
    { why: "empty model", field: "model", input: () => ({ model: "", input: "1", output: "1" }) },
    { why: "bad date", field: "effectiveFrom", input: () => ({ model: "m", input: "1", output: "1", effectiveFrom: "soon" }) },
  ],
  "pricing.importSeed": [{ why: "overwrite not a boolean", field: "overwrite", input: () => ({ overwrite: "yes" }) }],
  "backends.create": [
    { why: "name with capitals", field: "name", input: () => ({ name: "Big", baseUrl: "http://127.0.0.1:9/v1" }) },
    { why: "not a URL", field: "baseUrl", input: () => ({ name: "fine", baseUrl: "somewhere" }) },
    { why: "not http", field: "baseUrl", input: () => ({ name: "fine", baseUrl: "ftp://example.test/v1" }) },
    { why: "credential in the URL", field: "baseUrl", input: () => ({ name: "fine", baseUrl: "http://user:pw@example.test/v1" }) },
    { why: "empty credential", field: "credential", input: () => ({ name: "fine", baseUrl: "http://127.0.0.1:9/v1", credential: "" }) },
    { why: "connect timeout too short", field: "connectTimeoutMs", input: () => ({ name: "fine", baseUrl: "http://127.0.0.1:9/v1", connectTimeoutMs: 5 }) },
  ],
  "backends.update": [
    { why: "empty id", field: "id", input: () => ({ id: "" }) },
    { why: "bad URL", field: "baseUrl", input: () => ({ id: "bke_x", baseUrl: "nope" }) },
  ],
  "backends.remove": [{ why: "empty id", field: "id", input: () => ({ id: "" }) }],
  "backends.check": [{ why: "id missing", field: "id", input: () => ({}) }],
  "backends.discover": [{ why: "empty id", field: "id", input: () => ({ id: "" }) }],
  "backends.setAccess": [
    { why: "public missing", field: "public", input: () => ({ id: "bke_x", tenantIds: [] }) },
    { why: "tenant ids not strings", field: "tenantIds.0", input: () => ({ id: "bke_x", public: false, tenantIds: [7] }) },
  ],
  "playground.token": [{ why: "tenantId empty", field: "tenantId", input: () => ({ tenantId: "" }) }],
  "users.changePassword": [
    { why: "new password too short", field: "newPassword", input: () => ({ currentPassword: "whatever", newPassword: "short" }) },
    { why: "current password empty", field: "currentPassword", input: () => ({ currentPassword: "", newPassword: "long enough new one" }) },
  ],
};

const mutations = procedureCases().filter(([, c]) => c.type === "mutation");

it("every mutation has bad-input cases", () => {
  for (const [path] of mutations) expect(BAD_INPUTS[path]?.length ?? 0, path).toBeGreaterThan(0);
});

const rows = mutations.flatMap(([path, c]) => (BAD_INPUTS[path] ?? []).map((b) => [path, b.why, c, b] as const));

describe("bad input → BAD_REQUEST naming the field, nothing written", () => {
  it.each(rows)("%s: %s", async (path, _why, c, bad) => {
    // an allowed caller: the tenant's owner, or a platform admin for platform procedures
    const { tenant, user, caller } =
      c.access.kind === "platform-admin"
        ? await (async () => {
            const admin = await makeUser({ admin: true });
            return { tenant: await makeTenant(), user: admin, caller: callerFor(admin.id) };
          })()
        : await tenantWithMember("owner");
    const input = bad.input(tenant, user);
    const before = await tenantState(tenant.id);
    const userBefore = await db().user.findUniqueOrThrow({ where: { id: user.id } });

    const err = await rejectsWith(invoke(caller, path, input), "BAD_REQUEST");
    expect(err.message).toMatch(new RegExp(`(^|; )${bad.field}: \\S`));
    expect(err.fieldErrors?.[bad.field]?.length, JSON.stringify(err.fieldErrors)).toBeGreaterThan(0);

    expect(await tenantState(tenant.id)).toEqual(before);
    expect(await db().user.findUniqueOrThrow({ where: { id: user.id } })).toEqual(userBefore);
    expect(await auditBy(user.id)).toEqual([]);
    if (typeof input.slug === "string" && input.slug) {
      expect(await db().tenant.findUnique({ where: { slug: input.slug } })).toBeNull();
    }
    if (path === "users.create") expect(await db().user.findUnique({ where: { email: goodUser.email } })).toBeNull();
  });

  it("lists every bad field at once, each under its own name", async () => {
    const admin = await makeUser({ admin: true });
    const err = await rejectsWith(callerFor(admin.id).tenants.create({ slug: "A", name: "" }), "BAD_REQUEST");
    expect(err.message).toBe("slug: Use at least 2 characters; name: Enter a name");
    expect(err.fieldErrors).toEqual({ slug: ["Use at least 2 characters"], name: ["Enter a name"] });
  });

  it("a refusal from a service names its field too (disabling yourself)", async () => {
    const admin = await makeUser({ admin: true });
    const err = await rejectsWith(
      callerFor(admin.id).users.setDisabled({ userId: admin.id, disabled: true }),
      "BAD_REQUEST",
    );
    expect(err).toMatchObject({ field: "userId", message: "You cannot disable your own account" });
    expect(await auditBy(admin.id)).toEqual([]);
    expect((await db().user.findUniqueOrThrow({ where: { id: admin.id } })).disabledAt).toBeNull();
  });
});

describe("error formatting", () => {
  it("masks internal errors: a generic message, no details, no stack", async () => {
    // the logger (server/log/logger.ts) writes errors to stderr
    const logged: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    try {
      const broken = {
        user: {
          findUnique: async () => {
            throw new Error("connection to db-secret-host:5432 refused");
          },
        },
      } as unknown as Db;
      const caller = createCaller(createContext({ session: { userId: "usr_x", sessionVersion: 0 }, db: broken }));
      const err = await rejectsWith(caller.users.me(), "INTERNAL_SERVER_ERROR");
      expect(err.message).toBe("Something went wrong on our side. Try again.");
      expect(JSON.stringify(err.data)).not.toContain("db-secret-host");
      expect(err.data).not.toHaveProperty("stack");
      expect(logged.join("")).toMatch(/\[trpc\] internal error.*db-secret-host/s); // logged on the server instead
    } finally {
      spy.mockRestore();
    }
  });

  it("maps service errors to tRPC codes with the app's code (CONFLICT, slug_taken, field slug)", async () => {
    const admin = await makeUser({ admin: true });
    const t = await makeTenant();
    const err = await rejectsWith(callerFor(admin.id).tenants.create({ slug: t.slug, name: "Again" }), "CONFLICT");
    expect(err).toMatchObject({ appCode: "slug_taken", field: "slug" });
    expect(err.message).toContain(t.slug);
  });
});
