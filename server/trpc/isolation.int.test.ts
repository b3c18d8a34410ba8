/**
 * Tenant isolation, per procedure, driven by the table in server/test/procedures.ts:
 * another tenant's rows are a 404 for everyone who is not a member of it.
 */
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { db } from "../db/client";
import { addMemberTo, callerFor, makeUser, tenantWithMember } from "../test/fixtures";
import { PROCEDURES, procedureCases } from "../test/procedures";
import { auditBy, invoke, rejectsWith, routerProcedures, tenantState } from "../test/trpc";

describe("the procedure table", () => {
  it("lists exactly the router's procedures, with the right types", () => {
    const procs = routerProcedures();
    expect(Object.keys(PROCEDURES).sort()).toEqual(Object.keys(procs).sort());
    for (const [path, c] of procedureCases()) expect(procs[path]!._def.type, path).toBe(c.type);
  });

  it("classifies every procedure that takes a tenantId as tenant-scoped or platform-admin", () => {
    for (const [path, proc] of Object.entries(routerProcedures())) {
      const inputs = (proc._def as unknown as { inputs: unknown[] }).inputs;
      const takesTenantId = inputs.some((i) => i instanceof z.ZodObject && "tenantId" in i.shape);
      if (takesTenantId) {
        expect(["tenant", "platform-admin"], path).toContain(PROCEDURES[path as keyof typeof PROCEDURES].access.kind);
      }
    }
  });

  it("gives every mutation an audit action", () => {
    for (const [path, c] of procedureCases()) if (c.type === "mutation") expect(c.audit, path).toBeDefined();
  });
});

const tenantCases = procedureCases().filter(([, c]) => c.access.kind === "tenant");

describe("tenant isolation: a member of tenant A naming tenant B gets NOT_FOUND, and B is unchanged", () => {
  it.each(tenantCases)("%s (as A's owner)", async (path, c) => {
    const a = await tenantWithMember("owner");
    const b = await tenantWithMember("owner");
    await addMemberTo(b.tenant.id, "member");

    // Control: the same call on A's own tenant succeeds, so the NOT_FOUND below is about B, not the input.
    await invoke(a.caller, path, await c.input(a.tenant));
    const ownAudit = (await auditBy(a.user.id)).length;

    const input = await c.input(b.tenant);
    const before = await tenantState(b.tenant.id);
    await rejectsWith(invoke(a.caller, path, input), "NOT_FOUND");
    expect(await tenantState(b.tenant.id)).toEqual(before);
    expect(await auditBy(a.user.id)).toHaveLength(ownAudit);
  });

  // A viewer must not learn that B exists either: NOT_FOUND, never FORBIDDEN.
  it.each(tenantCases)("%s (as A's viewer)", async (path, c) => {
    const a = await tenantWithMember("viewer");
    const b = await tenantWithMember("owner");
    const input = await c.input(b.tenant);
    const before = await tenantState(b.tenant.id);
    await rejectsWith(invoke(a.caller, path, input), "NOT_FOUND");
    expect(await tenantState(b.tenant.id)).toEqual(before);
    expect(await auditBy(a.user.id)).toEqual([]);
  });

  it("a user with no memberships at all gets NOT_FOUND for B", async () => {
    const outsider = await makeUser();
    const b = await tenantWithMember("owner");
    const caller = callerFor(outsider.id);
    for (const [path, c] of tenantCases) {
      const input = await c.input(b.tenant);
      const before = await tenantState(b.tenant.id);
      await rejectsWith(invoke(caller, path, input), "NOT_FOUND");
      expect(await tenantState(b.tenant.id), path).toEqual(before);
    }
    expect(await auditBy(outsider.id)).toEqual([]);
  });
});

const crossCases = procedureCases().filter(([, c]) => c.crossTenant);

describe("tenant isolation: A's tenantId with an id of a row in B is NOT_FOUND, and nothing changes", () => {
  it("covers the membership, API key, limits, usage and routing procedures", () => {
    expect(crossCases.map(([p]) => p).sort()).toEqual([
      "apiKeys.disableSigning",
      "apiKeys.enableSigning",
      "apiKeys.revoke",
      "apiKeys.rotate",
      "apiKeys.rotateSigningSecret",
      "apiKeys.setIpAllowlist",
      "limits.setKey",
      "members.changeRole",
      "members.remove",
      "routing.get",
      "routing.remove",
      "routing.restore",
      "routing.update",
      "usage.body",
      "usage.get",
    ]);
  });

  it.each(crossCases)("%s", async (path, c) => {
    const a = await tenantWithMember("owner");
    const b = await tenantWithMember("owner");
    const input = await c.crossTenant!(a.tenant, b.tenant);
    const beforeA = await tenantState(a.tenant.id);
    const beforeB = await tenantState(b.tenant.id);
    await rejectsWith(invoke(a.caller, path, input), "NOT_FOUND");
    expect(await tenantState(a.tenant.id)).toEqual(beforeA);
    expect(await tenantState(b.tenant.id)).toEqual(beforeB);
    expect(await auditBy(a.user.id)).toEqual([]);
  });
});

describe("tenant isolation: reads of one's own tenant contain only its rows", () => {
  it("members.list and audit.list of A show none of B's rows", async () => {
    const a = await tenantWithMember("owner");
    const b = await tenantWithMember("owner");
    await addMemberTo(a.tenant.id, "viewer");
    await addMemberTo(b.tenant.id, "viewer");
    await a.caller.tenants.update({ tenantId: a.tenant.id, name: "A renamed" });
    await b.caller.tenants.update({ tenantId: b.tenant.id, name: "B renamed" });

    const members = await a.caller.members.list({ tenantId: a.tenant.id });
    const aMemberships = await db().membership.findMany({ where: { tenantId: a.tenant.id } });
    expect(members.map((m) => m.id).sort()).toEqual(aMemberships.map((m) => m.id).sort());
    expect(members).toHaveLength(2);

    const audit = await a.caller.audit.list({ tenantId: a.tenant.id, limit: 200 });
    expect(audit.items.length).toBeGreaterThanOrEqual(4); // create, 2 × member.add, update
    expect(audit.items.every((r) => r.tenantId === a.tenant.id)).toBe(true);
  });

  it("an unknown tenant and someone else's tenant give the same answer (no existence leak)", async () => {
    const a = await tenantWithMember("owner");
    const b = await tenantWithMember("owner");
    const foreign = await rejectsWith(a.caller.tenants.get({ tenantId: b.tenant.id }), "NOT_FOUND");
    const missing = await rejectsWith(a.caller.tenants.get({ tenantId: "tnt_doesnotexist" }), "NOT_FOUND");
    expect(foreign.message).toBe(missing.message);

    const bySlugForeign = await rejectsWith(a.caller.tenants.bySlug({ slug: b.tenant.slug }), "NOT_FOUND");
    const bySlugMissing = await rejectsWith(a.caller.tenants.bySlug({ slug: "no-such-tenant" }), "NOT_FOUND");
    expect(bySlugForeign.message.replace(b.tenant.slug, "?")).toBe(bySlugMissing.message.replace("no-such-tenant", "?"));
  });
});
