import { describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { callerFor, makeUser, tenantWithMember, uniq } from "../../test/fixtures";

describe("tenants (smoke)", () => {
  it("a platform admin creates a tenant and it is audited", async () => {
    const admin = await makeUser({ admin: true });
    const slug = `acme-${uniq()}`;
    const t = await callerFor(admin.id).tenants.create({ slug, name: "Acme" });
    expect(t.slug).toBe(slug);
    const audit = await db().auditLog.findMany({ where: { tenantId: t.id } });
    expect(audit.map((a) => a.action)).toEqual(["tenant.create"]);
  });

  it("a member of another tenant gets NOT_FOUND", async () => {
    const a = await tenantWithMember("owner");
    const b = await tenantWithMember("owner");
    await expect(a.caller.members.list({ tenantId: b.tenant.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
