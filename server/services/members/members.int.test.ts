import { describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { CLI_ACTOR } from "../audit/audit";
import { addMemberTo, makeUser, tenantWithMember } from "../../test/fixtures";
import { auditBy, rejectsWith, tenantState } from "../../test/trpc";
import { changeMemberRole, membershipRole } from "./members";

describe("members.add", () => {
  it("adds an existing user by email (any case), audited with email and role", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const newcomer = await makeUser();
    const m = await caller.members.add({ tenantId: tenant.id, email: ` ${newcomer.email.toUpperCase()} `, role: "viewer" });
    expect(m).toMatchObject({ role: "viewer", user: { id: newcomer.id, email: newcomer.email } });
    expect(m.id).toMatch(/^mem_/);
    expect(await membershipRole(db(), tenant.id, newcomer.id)).toBe("viewer");
    const rows = await auditBy(user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "member.add", tenantId: tenant.id, targetType: "membership", targetId: m.id });
    expect(JSON.parse(rows[0]!.data!)).toEqual({ email: newcomer.email, role: "viewer" });
  });

  it("an email with no user is NOT_FOUND, with no membership and no audit row", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const before = await tenantState(tenant.id);
    await rejectsWith(caller.members.add({ tenantId: tenant.id, email: "nobody-here@example.test", role: "member" }), "NOT_FOUND");
    expect(await tenantState(tenant.id)).toEqual(before);
    expect(await auditBy(user.id)).toEqual([]);
  });

  it("adding someone who is already a member is CONFLICT and keeps their role", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const { user: existing } = await addMemberTo(tenant.id, "viewer");
    const before = await tenantState(tenant.id);
    const err = await rejectsWith(caller.members.add({ tenantId: tenant.id, email: existing.email, role: "owner" }), "CONFLICT");
    expect(err).toMatchObject({ appCode: "already_member", field: "email" });
    expect(await tenantState(tenant.id)).toEqual(before);
    expect(await membershipRole(db(), tenant.id, existing.id)).toBe("viewer");
    expect(await auditBy(user.id)).toEqual([]);
  });
});

describe("members.changeRole", () => {
  it("changes a role and audits from/to", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const { user: target, membershipId } = await addMemberTo(tenant.id, "viewer");
    const m = await caller.members.changeRole({ tenantId: tenant.id, membershipId, role: "admin" });
    expect(m).toMatchObject({ id: membershipId, role: "admin" });
    const rows = await auditBy(user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "member.role_change", targetId: membershipId, tenantId: tenant.id });
    expect(JSON.parse(rows[0]!.data!)).toEqual({ email: target.email, from: "viewer", to: "admin" });
  });

  it("the last owner cannot be demoted (CONFLICT), not even by themselves", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const own = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
    for (const role of ["admin", "member", "viewer"] as const) {
      const err = await rejectsWith(caller.members.changeRole({ tenantId: tenant.id, membershipId: own.id, role }), "CONFLICT");
      expect(err.appCode).toBe("last_owner");
    }
    expect(await membershipRole(db(), tenant.id, user.id)).toBe("owner");
    expect(await auditBy(user.id)).toEqual([]);
  });

  it("with two owners one may be demoted; then the other is the last", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const second = await addMemberTo(tenant.id, "owner");
    await caller.members.changeRole({ tenantId: tenant.id, membershipId: second.membershipId, role: "member" });
    const own = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
    await rejectsWith(caller.members.changeRole({ tenantId: tenant.id, membershipId: own.id, role: "admin" }), "CONFLICT");
    expect(await db().membership.count({ where: { tenantId: tenant.id, role: "owner" } })).toBe(1);
  });

  it("an owner may be 'changed' to owner (no demotion) even when last", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const own = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
    await expect(caller.members.changeRole({ tenantId: tenant.id, membershipId: own.id, role: "owner" })).resolves.toMatchObject({
      role: "owner",
    });
  });

  it("an unknown membership is NOT_FOUND, with no audit row", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    await rejectsWith(caller.members.changeRole({ tenantId: tenant.id, membershipId: "mem_nope", role: "admin" }), "NOT_FOUND");
    expect(await auditBy(user.id)).toEqual([]);
  });

  it("the service itself refuses a membership id from another tenant", async () => {
    const a = await tenantWithMember("owner");
    const b = await tenantWithMember("owner");
    const { membershipId } = await addMemberTo(b.tenant.id, "viewer");
    await expect(
      changeMemberRole(db(), CLI_ACTOR, a.tenant.id, { membershipId, role: "owner" }),
    ).rejects.toMatchObject({ kind: "not_found" });
    expect((await db().membership.findUniqueOrThrow({ where: { id: membershipId } })).role).toBe("viewer");
  });
});

describe("members.remove", () => {
  it("removes a member and audits it", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const { user: target, membershipId } = await addMemberTo(tenant.id, "admin");
    await caller.members.remove({ tenantId: tenant.id, membershipId });
    expect(await db().membership.findUnique({ where: { id: membershipId } })).toBeNull();
    const rows = await auditBy(user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "member.remove", targetId: membershipId, tenantId: tenant.id });
    expect(JSON.parse(rows[0]!.data!)).toEqual({ email: target.email, role: "admin" });
    // the user still exists; only the membership went
    expect(await db().user.findUnique({ where: { id: target.id } })).not.toBeNull();
  });

  it("the last owner cannot be removed (CONFLICT)", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    await addMemberTo(tenant.id, "admin");
    const own = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
    const before = await tenantState(tenant.id);
    const err = await rejectsWith(caller.members.remove({ tenantId: tenant.id, membershipId: own.id }), "CONFLICT");
    expect(err.appCode).toBe("last_owner");
    expect(await tenantState(tenant.id)).toEqual(before);
    expect(await auditBy(user.id)).toEqual([]);
  });

  it("an owner may leave when another owner remains, and then has no access", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    await addMemberTo(tenant.id, "owner");
    const own = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
    await caller.members.remove({ tenantId: tenant.id, membershipId: own.id });
    await rejectsWith(caller.members.list({ tenantId: tenant.id }), "NOT_FOUND");
  });

  it("an unknown membership is NOT_FOUND", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    await rejectsWith(caller.members.remove({ tenantId: tenant.id, membershipId: "mem_nope" }), "NOT_FOUND");
    expect(await auditBy(user.id)).toEqual([]);
  });
});

describe("the last-owner rule under concurrency", () => {
  // Two owners demoting/removing each other at the same moment must not leave the tenant ownerless
  // (on PostgreSQL this failed almost every time before the tenant row was locked).
  it("one of two simultaneous owner changes wins, the other is CONFLICT", async () => {
    for (let i = 0; i < 5; i++) {
      const { tenant, user, caller } = await tenantWithMember("owner");
      const second = await addMemberTo(tenant.id, "owner");
      const own = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
      const results = await Promise.allSettled([
        caller.members.changeRole({ tenantId: tenant.id, membershipId: own.id, role: "admin" }),
        caller.members.remove({ tenantId: tenant.id, membershipId: second.membershipId }),
      ]);
      expect(await db().membership.count({ where: { tenantId: tenant.id, role: "owner" } })).toBe(1);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(failed.reason).toMatchObject({ code: "CONFLICT" });
      expect(await auditBy(user.id)).toHaveLength(1);
    }
  });
});

describe("members.list", () => {
  it("lists members oldest first with user details and no secrets", async () => {
    const { tenant, user, caller } = await tenantWithMember("viewer");
    const second = await addMemberTo(tenant.id, "admin");
    // make the order unambiguous (two rows can share a millisecond)
    const first = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
    await db().membership.update({
      where: { id: second.membershipId },
      data: { createdAt: new Date(first.createdAt.getTime() + 1000) },
    });
    const list = await caller.members.list({ tenantId: tenant.id });
    expect(list.map((m) => [m.user.id, m.role])).toEqual([
      [user.id, "viewer"],
      [second.user.id, "admin"],
    ]);
    expect(Object.keys(list[0]!.user).sort()).toEqual(["disabledAt", "email", "id", "name"]);
  });
});
