/**
 * Who may call what: the tenant role ladder, platform-admin-only procedures,
 * tenants.list visibility, and the audit row every successful mutation writes.
 * Driven by the table in server/test/procedures.ts.
 */
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { type Role, db } from "../db/client";
import { type TestTenant, callerFor, makeTenant, makeUser, tenantWithMember } from "../test/fixtures";
import { type ProcedureCase, PROCEDURES, ROLE_LADDER, procedureCases, roleAllows } from "../test/procedures";
import { type ProcedurePath, auditBy, invoke, rejectsWith, tenantState } from "../test/trpc";
import { createContext } from "./init";
import { createCaller } from "./root";

type Who = Role | "platform-admin";

/** A caller of the given kind in a fresh tenant (a platform admin is not a member of it). */
async function callerIn(who: Who) {
  if (who === "platform-admin") {
    const user = await makeUser({ admin: true });
    return { tenant: await makeTenant(), user, caller: callerFor(user.id) };
  }
  return tenantWithMember(who);
}

/** Nothing that reaches the client may carry a password hash or an API key hash. */
function expectNoSecrets(result: unknown) {
  const text = JSON.stringify(superjson.serialize(result).json ?? null);
  expect(text).not.toMatch(/passwordHash|\$2[aby]\$/);
  expect(text).not.toMatch(/"hash":|\b[0-9a-f]{64}\b/);
}

async function expectOneAuditRow(
  c: ProcedureCase,
  actor: { id: string; email: string },
  tenant: TestTenant,
  result: unknown,
) {
  const rows = await auditBy(actor.id);
  expect(rows).toHaveLength(1);
  const expectedTenant =
    c.audit!.tenant === "input" ? tenant.id : c.audit!.tenant === "result" ? (result as { id: string }).id : null;
  expect(rows[0]).toMatchObject({ action: c.audit!.action, tenantId: expectedTenant, actorLabel: actor.email });
}

describe("the rules the table encodes", () => {
  const tenantCases = procedureCases().filter(([, c]) => c.access.kind === "tenant");
  // A CSV export is a read; it is a mutation only because it mints a download link (and is audited).
  const viewerMutations = new Set(["usage.exportCsv"]);
  // A routing dry run reads only, but it exercises a policy like a request would: the playground's rung.
  // Stored request bodies are a separate permission: viewers read them only when the tenant allows it.
  const memberQueries = new Set(["routing.dryRun", "usage.body"]);
  it("every member (viewer and up) can read; no tenant mutation that changes anything is open to viewers", () => {
    for (const [path, c] of tenantCases) {
      const minRole = (c.access as { minRole: Role }).minRole;
      if (memberQueries.has(path)) expect(minRole, path).toBe("member");
      else if (c.type === "query" || viewerMutations.has(path)) expect(minRole, path).toBe("viewer");
      else expect(minRole, path).not.toBe("viewer");
    }
  });
  it("only owners manage members", () => {
    for (const path of ["members.add", "members.changeRole", "members.remove"] as const) {
      expect(PROCEDURES[path].access).toEqual({ kind: "tenant", minRole: "owner" });
    }
  });
});

describe("tenant role ladder: allowed callers succeed, others get FORBIDDEN and change nothing", () => {
  const rows: [ProcedurePath, ProcedureCase, Who][] = [];
  for (const [path, c] of procedureCases()) {
    if (c.access.kind !== "tenant") continue;
    for (const who of [...ROLE_LADDER, "platform-admin" as const]) rows.push([path, c, who]);
  }

  it.each(rows)("%s as %s", async (path, c, who) => {
    const { tenant, user, caller } = await callerIn(who);
    const input = await c.input(tenant);
    const before = await tenantState(tenant.id);
    const minRole = (c.access as { minRole: Role }).minRole;
    if (who === "platform-admin" || roleAllows(who, minRole)) {
      const result = await invoke(caller, path, input);
      expectNoSecrets(result);
      if (c.type === "mutation") await expectOneAuditRow(c, user, tenant, result);
      else {
        expect(await auditBy(user.id)).toEqual([]);
        expect(await tenantState(tenant.id)).toEqual(before);
      }
    } else {
      const err = await rejectsWith(invoke(caller, path, input), "FORBIDDEN");
      expect(err.message).toContain(`needs the ${minRole} role`);
      expect(await tenantState(tenant.id)).toEqual(before);
      expect(await auditBy(user.id)).toEqual([]);
    }
  });

  it("tenants.bySlug reports the caller's role, and platform admins see every tenant as owner", async () => {
    const { tenant, caller } = await tenantWithMember("viewer");
    expect(await caller.tenants.bySlug({ slug: tenant.slug.toUpperCase() })).toMatchObject({
      id: tenant.id,
      role: "viewer",
      viaPlatformAdmin: false,
    });
    const admin = await makeUser({ admin: true });
    expect(await callerFor(admin.id).tenants.bySlug({ slug: tenant.slug })).toMatchObject({
      role: "owner",
      viaPlatformAdmin: true,
    });
  });
});

const adminCases = procedureCases().filter(([, c]) => c.access.kind === "platform-admin");

/** Rows an input names (by tenantId, slug, userId or email), to show a refused call changed none of them. */
async function rowsNamedBy(input: unknown) {
  const i = (input ?? {}) as Record<string, string | undefined>;
  return {
    tenant: i.tenantId ? await tenantState(i.tenantId) : null,
    slug: i.slug ? await db().tenant.findUnique({ where: { slug: i.slug } }) : null,
    user: i.userId ? await db().user.findUnique({ where: { id: i.userId } }) : null,
    email: i.email ? await db().user.findUnique({ where: { email: i.email } }) : null,
  };
}

describe("platform-admin-only procedures", () => {
  it("are the ones the product says", () => {
    expect(adminCases.map(([p]) => p).sort()).toEqual([
      "audit.listAll",
      "backends.check",
      "backends.create",
      "backends.discover",
      "backends.list",
      "backends.remove",
      "backends.setAccess",
      "backends.update",
      "limits.setTenant",
      "models.add",
      "models.engine",
      "models.list",
      "models.load",
      "models.pull",
      "models.remove",
      "models.setAccess",
      "models.unload",
      "pricing.importSeed",
      "pricing.platformSpend",
      "pricing.seedList",
      "pricing.set",
      "tenants.create",
      "tenants.setStatus",
      "users.create",
      "users.list",
      "users.setDisabled",
    ]);
  });

  it.each(adminCases)("%s: FORBIDDEN for a tenant owner who is not a platform admin, with no effect", async (path, c) => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const input = await c.input(tenant);
    const before = await rowsNamedBy(input);
    await rejectsWith(invoke(caller, path, input), "FORBIDDEN");
    expect(await rowsNamedBy(input)).toEqual(before);
    expect(await auditBy(user.id)).toEqual([]);
  });

  it.each(adminCases)("%s: UNAUTHORIZED with no session, with no effect", async (path, c) => {
    const tenant = await makeTenant();
    const input = await c.input(tenant);
    const before = await rowsNamedBy(input);
    await rejectsWith(invoke(callerFor(null), path, input), "UNAUTHORIZED");
    expect(await rowsNamedBy(input)).toEqual(before);
  });

  it.each(adminCases)("%s: allowed for a platform admin", async (path, c) => {
    const admin = await makeUser({ admin: true });
    const tenant = await makeTenant();
    const result = await invoke(callerFor(admin.id), path, await c.input(tenant));
    expectNoSecrets(result);
    if (c.type === "mutation") await expectOneAuditRow(c, admin, tenant, result);
    else expect(await auditBy(admin.id)).toEqual([]);
  });
});

describe("audit: each successful mutation writes exactly one row with the right action, tenant and actor", () => {
  const mutations = procedureCases().filter(([, c]) => c.type === "mutation");

  it.each(mutations)("%s (least-privileged allowed caller)", async (path, c) => {
    let tenant: TestTenant;
    let user: { id: string; email: string };
    if (c.access.kind === "tenant") {
      ({ tenant, user } = await tenantWithMember(c.access.minRole));
    } else {
      tenant = await makeTenant();
      user = await makeUser({ admin: c.access.kind === "platform-admin" });
    }
    const ip = "203.0.113.7";
    const caller = createCaller(createContext({ session: { userId: user.id, sessionVersion: 0 }, ip, db: db() }));
    const result = await invoke(caller, path, await c.input(tenant));
    await expectOneAuditRow(c, user, tenant, result);
    expect((await auditBy(user.id))[0]!.ip).toBe(ip);
  });
});

describe("tenants.list", () => {
  it("shows a non-admin only the tenants they belong to, with their role and member count", async () => {
    const a = await tenantWithMember("viewer");
    const b = await tenantWithMember("owner");
    const c = await makeTenant();
    await db().membership.create({
      data: { id: `mem_${a.user.id}`, tenantId: b.tenant.id, userId: a.user.id, role: "admin" },
    });
    const list = await a.caller.tenants.list();
    expect(list.map((t) => t.id).sort()).toEqual([a.tenant.id, b.tenant.id].sort());
    expect(list.find((t) => t.id === a.tenant.id)).toMatchObject({ role: "viewer", memberCount: 1 });
    expect(list.find((t) => t.id === b.tenant.id)).toMatchObject({ role: "admin", memberCount: 2 });
    expect(list.some((t) => t.id === c.id)).toBe(false);
  });

  it("shows a user with no memberships nothing", async () => {
    await makeTenant();
    const u = await makeUser();
    expect(await callerFor(u.id).tenants.list()).toEqual([]);
  });

  it("shows a platform admin every tenant, member or not", async () => {
    const a = await tenantWithMember("owner");
    const c = await makeTenant();
    const admin = await makeUser({ admin: true });
    // other test files add tenants concurrently: the list must sit between the counts taken around it
    const countBefore = await db().tenant.count();
    const list = await callerFor(admin.id).tenants.list();
    const countAfter = await db().tenant.count();
    expect(list.length).toBeGreaterThanOrEqual(countBefore);
    expect(list.length).toBeLessThanOrEqual(countAfter);
    const ids = list.map((t) => t.id);
    expect(ids).toContain(a.tenant.id);
    expect(ids).toContain(c.id);
    expect(list.find((t) => t.id === c.id)).toMatchObject({ role: null, memberCount: 0 });
  });
});
