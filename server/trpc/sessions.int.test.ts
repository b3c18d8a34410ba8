/**
 * Sessions: every procedure needs one, and a session stops counting when its
 * user is disabled or its sessionVersion is stale (password change, disable).
 */
import { describe, expect, it } from "vitest";
import { db } from "../db/client";
import { authenticate } from "../auth/sign-in";
import { TEST_PASSWORD, callerFor, makeTenant, makeUser, tenantWithMember } from "../test/fixtures";
import { procedureCases } from "../test/procedures";
import { auditBy, invoke, rejectsWith } from "../test/trpc";

describe("no session", () => {
  it.each(procedureCases())("%s: UNAUTHORIZED", async (path, c) => {
    const tenant = await makeTenant();
    const input = await c.input(tenant);
    const err = await rejectsWith(invoke(callerFor(null), path, input), "UNAUTHORIZED");
    expect(err.message).toMatch(/sign in/i);
  });

  it("UNAUTHORIZED comes before input validation (no probing without a session)", async () => {
    await rejectsWith(callerFor(null).members.add({ tenantId: "", email: "nope", role: "owner" } as never), "UNAUTHORIZED");
  });
});

describe("stale or invalid sessions", () => {
  it("a session for a user that does not exist is UNAUTHORIZED", async () => {
    await rejectsWith(callerFor("usr_doesnotexist").users.me(), "UNAUTHORIZED");
  });

  it("a session whose version is ahead of the user's is UNAUTHORIZED", async () => {
    const u = await makeUser();
    await rejectsWith(callerFor(u.id, 1).users.me(), "UNAUTHORIZED");
    expect(await callerFor(u.id, 0).users.me()).toMatchObject({ id: u.id, email: u.email });
  });

  it("after changePassword the old session is UNAUTHORIZED and only the new version works", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    await caller.users.changePassword({ currentPassword: TEST_PASSWORD, newPassword: "another long password" });

    await rejectsWith(caller.users.me(), "UNAUTHORIZED");
    await rejectsWith(caller.members.list({ tenantId: tenant.id }), "UNAUTHORIZED");
    await rejectsWith(caller.tenants.update({ tenantId: tenant.id, name: "nope" }), "UNAUTHORIZED");

    const fresh = callerFor(user.id, 1);
    expect(await fresh.members.list({ tenantId: tenant.id })).toHaveLength(1);
    expect(await authenticate(db(), user.email, TEST_PASSWORD)).toBeNull();
    expect(await authenticate(db(), user.email, "another long password")).toMatchObject({ id: user.id });
    expect((await auditBy(user.id)).map((r) => r.action)).toEqual(["user.password_change"]);
  });

  it("a disabled user is UNAUTHORIZED with every session version until re-enabled; old sessions stay dead", async () => {
    const admin = await makeUser({ admin: true });
    const { tenant, user, caller } = await tenantWithMember("owner");
    expect(await caller.tenants.get({ tenantId: tenant.id })).toMatchObject({ id: tenant.id });

    await callerFor(admin.id).users.setDisabled({ userId: user.id, disabled: true });
    await rejectsWith(caller.tenants.get({ tenantId: tenant.id }), "UNAUTHORIZED");
    await rejectsWith(callerFor(user.id, 1).tenants.get({ tenantId: tenant.id }), "UNAUTHORIZED");
    const row = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.sessionVersion).toBe(1);

    await callerFor(admin.id).users.setDisabled({ userId: user.id, disabled: false });
    await rejectsWith(caller.tenants.get({ tenantId: tenant.id }), "UNAUTHORIZED");
    expect(await callerFor(user.id, 1).tenants.get({ tenantId: tenant.id })).toMatchObject({ id: tenant.id });
  });

  it("a user disabled directly in the database (same session version) is UNAUTHORIZED", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    await db().user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    await rejectsWith(caller.members.list({ tenantId: tenant.id }), "UNAUTHORIZED");
    await rejectsWith(caller.tenants.list(), "UNAUTHORIZED");
  });

  it("a disabled platform admin loses platform powers too", async () => {
    const admin = await makeUser({ admin: true });
    const other = await makeUser({ admin: true });
    await callerFor(other.id).users.setDisabled({ userId: admin.id, disabled: true });
    await rejectsWith(callerFor(admin.id, 1).users.list(), "UNAUTHORIZED");
    await rejectsWith(callerFor(admin.id, 0).tenants.create({ slug: "never-made", name: "x" }), "UNAUTHORIZED");
    expect(await db().tenant.findUnique({ where: { slug: "never-made" } })).toBeNull();
  });
});
