import { describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { callerFor, makeUser, tenantWithMember, uniq } from "../../test/fixtures";
import { rejectsWith } from "../../test/trpc";
import { recordAudit } from "./audit";

describe("audit.list", () => {
  it("pages newest first with a cursor, each row once", async () => {
    const { tenant, caller } = await tenantWithMember("viewer");
    const actor = { userId: null, label: "test", isPlatformAdmin: true };
    for (let i = 0; i < 5; i++) {
      await recordAudit(db(), actor, { tenantId: tenant.id, action: `test.step${i}`, targetType: "thing", data: { i } });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await caller.audit.list({ tenantId: tenant.id, limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    const all = await db().auditLog.findMany({ where: { tenantId: tenant.id }, orderBy: { id: "desc" } });
    expect(seen).toEqual(all.map((r) => r.id)); // 5 steps + tenant.create + member.add
    expect(pages).toBe(Math.ceil(all.length / 2));
  });

  it("filters by action prefix and returns data as an object", async () => {
    const { tenant, caller } = await tenantWithMember("owner");
    await caller.tenants.update({ tenantId: tenant.id, name: "Renamed" });
    const page = await caller.audit.list({ tenantId: tenant.id, action: "tenant." });
    expect(page.items.map((r) => r.action).sort()).toEqual(["tenant.create", "tenant.update"]);
    const update = page.items.find((r) => r.action === "tenant.update")!;
    expect(update.data).toEqual({ name: { from: tenant.name, to: "Renamed" } });
    expect((await caller.audit.list({ tenantId: tenant.id, action: "member." })).items.map((r) => r.action)).toEqual([
      "member.add",
    ]);
  });

  it("refuses a page size outside 1..200", async () => {
    const { tenant, caller } = await tenantWithMember("viewer");
    for (const limit of [0, 201, 1.5]) {
      const err = await rejectsWith(caller.audit.list({ tenantId: tenant.id, limit }), "BAD_REQUEST");
      expect(err.message).toMatch(/^limit: /);
    }
  });
});

describe("audit.listAll", () => {
  it("includes platform-level entries and every tenant's", async () => {
    const admin = await makeUser({ admin: true });
    const a = await tenantWithMember("owner");
    const b = await tenantWithMember("owner");
    const marker = `probe${uniq()}`;
    const actor = { userId: admin.id, label: admin.email, isPlatformAdmin: true };
    await recordAudit(db(), actor, { action: `${marker}.platform`, targetType: "x" });
    await recordAudit(db(), actor, { tenantId: a.tenant.id, action: `${marker}.a`, targetType: "x" });
    await recordAudit(db(), actor, { tenantId: b.tenant.id, action: `${marker}.b`, targetType: "x" });
    const page = await callerFor(admin.id).audit.listAll({ action: marker });
    expect(page.items.map((r) => [r.action, r.tenantId]).sort()).toEqual([
      [`${marker}.a`, a.tenant.id],
      [`${marker}.b`, b.tenant.id],
      [`${marker}.platform`, null],
    ]);
    // a tenant's own list never shows platform-level or other tenants' rows
    const own = await a.caller.audit.list({ tenantId: a.tenant.id, action: marker });
    expect(own.items.map((r) => r.action)).toEqual([`${marker}.a`]);
  });
});
