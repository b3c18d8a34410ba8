import { describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { callerFor, makeTenant, makeUser, tenantWithMember, uniq } from "../../test/fixtures";
import { auditBy, rejectsWith } from "../../test/trpc";

async function admin() {
  const user = await makeUser({ admin: true });
  return { user, caller: callerFor(user.id) };
}

describe("tenants.create", () => {
  it("creates an active tenant with a normalised slug, audited once", async () => {
    const { user, caller } = await admin();
    const slug = `acme-${uniq()}`;
    const t = await caller.tenants.create({ slug: `  ${slug.toUpperCase()} `, name: "  Acme  " });
    expect(t).toMatchObject({ slug, name: "Acme", status: "active", suspendedAt: null });
    expect(t.id).toMatch(/^tnt_/);
    const audit = await db().auditLog.findMany({ where: { tenantId: t.id } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "tenant.create", targetType: "tenant", targetId: t.id, actorUserId: user.id });
    expect(JSON.parse(audit[0]!.data!)).toEqual({ slug, name: "Acme" });
  });

  it("a duplicate slug (in any case) is CONFLICT, with no second tenant and no audit row", async () => {
    const existing = await makeTenant();
    const { user, caller } = await admin();
    for (const slug of [existing.slug, existing.slug.toUpperCase()]) {
      const err = await rejectsWith(caller.tenants.create({ slug, name: "Copy" }), "CONFLICT");
      expect(err).toMatchObject({ appCode: "slug_taken", field: "slug" });
    }
    expect(await db().tenant.count({ where: { slug: existing.slug } })).toBe(1);
    expect(await db().tenant.findUniqueOrThrow({ where: { slug: existing.slug } })).toMatchObject({
      id: existing.id,
      name: existing.name,
    });
    expect(await auditBy(user.id)).toEqual([]);
  });
});

describe("tenants.update", () => {
  it("renames, trimming the name, and audits from/to", async () => {
    const { tenant, user, caller } = await tenantWithMember("admin");
    const t = await caller.tenants.update({ tenantId: tenant.id, name: "  New name " });
    expect(t.name).toBe("New name");
    const rows = await auditBy(user.id);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.data!)).toEqual({ name: { from: tenant.name, to: "New name" } });
  });
});

describe("tenants.get / bySlug", () => {
  it("returns the tenant's public fields only", async () => {
    const { tenant, caller } = await tenantWithMember("viewer");
    const t = await caller.tenants.get({ tenantId: tenant.id });
    expect(Object.keys(t).sort()).toEqual(["createdAt", "id", "name", "slug", "status", "suspendedAt", "updatedAt"]);
    expect(await caller.tenants.bySlug({ slug: ` ${tenant.slug} ` })).toMatchObject({ id: tenant.id, role: "viewer" });
  });
});

describe("tenants.setStatus", () => {
  it("suspends and re-activates, setting and clearing suspendedAt, one audit row each", async () => {
    const tenant = await makeTenant();
    const { user, caller } = await admin();
    const s = await caller.tenants.setStatus({ tenantId: tenant.id, status: "suspended" });
    expect(s.status).toBe("suspended");
    expect(s.suspendedAt).toBeInstanceOf(Date);
    const a = await caller.tenants.setStatus({ tenantId: tenant.id, status: "active" });
    expect(a).toMatchObject({ status: "active", suspendedAt: null });
    expect((await auditBy(user.id)).map((r) => [r.action, r.tenantId])).toEqual([
      ["tenant.suspend", tenant.id],
      ["tenant.activate", tenant.id],
    ]);
  });

  it("setting the status it already has changes nothing and writes no audit row", async () => {
    const tenant = await makeTenant();
    const { user, caller } = await admin();
    await caller.tenants.setStatus({ tenantId: tenant.id, status: "suspended" });
    const before = await db().tenant.findUniqueOrThrow({ where: { id: tenant.id } });
    const again = await caller.tenants.setStatus({ tenantId: tenant.id, status: "suspended" });
    expect(again.suspendedAt).toEqual(before.suspendedAt);
    expect(await db().tenant.findUniqueOrThrow({ where: { id: tenant.id } })).toEqual(before);
    await caller.tenants.setStatus({ tenantId: tenant.id, status: "active" });
    await caller.tenants.setStatus({ tenantId: tenant.id, status: "active" });
    expect((await auditBy(user.id)).map((r) => r.action)).toEqual(["tenant.suspend", "tenant.activate"]);
  });

  it("an unknown tenant is NOT_FOUND, with no audit row", async () => {
    const { user, caller } = await admin();
    await rejectsWith(caller.tenants.setStatus({ tenantId: "tnt_doesnotexist", status: "suspended" }), "NOT_FOUND");
    expect(await auditBy(user.id)).toEqual([]);
  });
});
