import { describe, expect, it } from "vitest";
import { hashPassword } from "../../auth/password";
import { db } from "../../db/client";
import { TEST_PASSWORD, callerFor, makeUser, uniq } from "../../test/fixtures";
import { auditBy, rejectsWith } from "../../test/trpc";
import { CLI_ACTOR } from "../audit/audit";
import { authenticate } from "../../auth/sign-in";
import { countPlatformAdmins, createPlatformAdmin, createUser } from "./users";

describe("authenticate", () => {
  it("returns the user for the right password (email matched case- and space-insensitively) and stamps lastLoginAt", async () => {
    const u = await makeUser();
    expect(u.lastLoginAt).toBeNull();
    const got = await authenticate(db(), `  ${u.email.toUpperCase()} `, TEST_PASSWORD);
    expect(got).toMatchObject({ id: u.id, email: u.email });
    const row = await db().user.findUniqueOrThrow({ where: { id: u.id } });
    expect(row.lastLoginAt).toBeInstanceOf(Date);
  });

  it("returns null for a wrong password, and leaves lastLoginAt alone", async () => {
    const u = await makeUser();
    expect(await authenticate(db(), u.email, "wrong password!")).toBeNull();
    expect(await authenticate(db(), u.email, TEST_PASSWORD.toUpperCase())).toBeNull();
    expect(await authenticate(db(), u.email, "")).toBeNull();
    expect((await db().user.findUniqueOrThrow({ where: { id: u.id } })).lastLoginAt).toBeNull();
  });

  it("returns null for an unknown or malformed email", async () => {
    expect(await authenticate(db(), `nobody-${uniq()}@example.test`, TEST_PASSWORD)).toBeNull();
    expect(await authenticate(db(), "not an email", TEST_PASSWORD)).toBeNull();
  });

  it("returns null for a disabled user even with the right password", async () => {
    const u = await makeUser();
    await db().user.update({ where: { id: u.id }, data: { disabledAt: new Date() } });
    expect(await authenticate(db(), u.email, TEST_PASSWORD)).toBeNull();
    expect((await db().user.findUniqueOrThrow({ where: { id: u.id } })).lastLoginAt).toBeNull();
  });

  it("returns null for an OIDC-only user (no password hash)", async () => {
    const u = await makeUser();
    await db().user.update({ where: { id: u.id }, data: { passwordHash: null } });
    expect(await authenticate(db(), u.email, TEST_PASSWORD)).toBeNull();
    expect(await authenticate(db(), u.email, "")).toBeNull();
  });

  it("stores a bcrypt hash, never the password", async () => {
    const u = await makeUser();
    const row = await db().user.findUniqueOrThrow({ where: { id: u.id } });
    expect(row.passwordHash).toMatch(/^\$2[aby]\$/);
    expect(row.passwordHash).not.toContain(TEST_PASSWORD);
    expect(await hashPassword(TEST_PASSWORD)).not.toBe(row.passwordHash); // salted
  });
});

describe("users.create", () => {
  it("creates a user (email normalised), audited as a platform-level action", async () => {
    const admin = await makeUser({ admin: true });
    const email = `New-${uniq()}@Example.TEST`;
    const u = await callerFor(admin.id).users.create({ email, password: "long enough password" });
    expect(u).toMatchObject({ email: email.toLowerCase(), name: "", isPlatformAdmin: false, disabledAt: null });
    expect(u).not.toHaveProperty("passwordHash");
    const rows = await auditBy(admin.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "user.create", tenantId: null, targetId: u.id });
    expect(await authenticate(db(), email, "long enough password")).toMatchObject({ id: u.id });
  });

  it("a duplicate email (any case) is CONFLICT with no new user and no audit row", async () => {
    const admin = await makeUser({ admin: true });
    const existing = await makeUser();
    const before = await db().user.findUniqueOrThrow({ where: { id: existing.id } });
    const err = await rejectsWith(
      callerFor(admin.id).users.create({ email: existing.email.toUpperCase(), password: "long enough password" }),
      "CONFLICT",
    );
    expect(err).toMatchObject({ appCode: "email_taken", field: "email" });
    expect(await db().user.findUniqueOrThrow({ where: { id: existing.id } })).toEqual(before);
    expect(await auditBy(admin.id)).toEqual([]);
  });
});

describe("users.setDisabled", () => {
  it("disables (bumping sessionVersion) and re-enables, one audit row each", async () => {
    const admin = await makeUser({ admin: true });
    const u = await makeUser();
    const caller = callerFor(admin.id);
    const d = await caller.users.setDisabled({ userId: u.id, disabled: true });
    expect(d.disabledAt).toBeInstanceOf(Date);
    const e = await caller.users.setDisabled({ userId: u.id, disabled: false });
    expect(e.disabledAt).toBeNull();
    const row = await db().user.findUniqueOrThrow({ where: { id: u.id } });
    expect(row.sessionVersion).toBe(1);
    expect((await auditBy(admin.id)).map((r) => [r.action, r.targetId, r.tenantId])).toEqual([
      ["user.disable", u.id, null],
      ["user.enable", u.id, null],
    ]);
  });

  it("an unknown user is NOT_FOUND with no audit row", async () => {
    const admin = await makeUser({ admin: true });
    await rejectsWith(callerFor(admin.id).users.setDisabled({ userId: "usr_nope", disabled: true }), "NOT_FOUND");
    expect(await auditBy(admin.id)).toEqual([]);
  });
});

describe("users.changePassword", () => {
  it("a wrong current password is BAD_REQUEST on currentPassword; nothing changes", async () => {
    const u = await makeUser();
    const before = await db().user.findUniqueOrThrow({ where: { id: u.id } });
    const err = await rejectsWith(
      callerFor(u.id).users.changePassword({ currentPassword: "not my password", newPassword: "a new long password" }),
      "BAD_REQUEST",
    );
    expect(err).toMatchObject({ field: "currentPassword", message: "Current password is incorrect" });
    expect(await db().user.findUniqueOrThrow({ where: { id: u.id } })).toEqual(before);
    expect(await auditBy(u.id)).toEqual([]);
  });
});

describe("users.list and users.me", () => {
  it("lists users filtered by email, without hashes", async () => {
    const admin = await makeUser({ admin: true });
    const u = await makeUser();
    const list = await callerFor(admin.id).users.list({ query: u.email.toUpperCase() });
    expect(list.map((x) => x.id)).toEqual([u.id]);
    expect(list[0]).not.toHaveProperty("passwordHash");
    expect(list[0]!._count.memberships).toBe(0);
  });

  it("me returns the caller", async () => {
    const u = await makeUser();
    expect(await callerFor(u.id).users.me()).toEqual({ id: u.id, email: u.email, name: u.name, isPlatformAdmin: false });
  });
});

describe("createPlatformAdmin (set-up and CLI)", () => {
  it("creates a new platform admin", async () => {
    const email = `admin-${uniq()}@example.test`;
    const before = await countPlatformAdmins(db());
    const { user, created } = await createPlatformAdmin(db(), CLI_ACTOR, { email, password: "long enough password" });
    expect(created).toBe(true);
    expect(user.isPlatformAdmin).toBe(true);
    expect(await countPlatformAdmins(db())).toBeGreaterThanOrEqual(before + 1);
  });

  it("refuses an existing email unless asked to update; update promotes, resets the password, re-enables and ends sessions", async () => {
    const u = await makeUser();
    await db().user.update({ where: { id: u.id }, data: { disabledAt: new Date() } });
    await expect(
      createPlatformAdmin(db(), CLI_ACTOR, { email: u.email, password: "long enough password" }),
    ).rejects.toMatchObject({ kind: "conflict", code: "email_taken" });

    const { user, created } = await createPlatformAdmin(
      db(),
      CLI_ACTOR,
      { email: u.email, password: "brand new password" },
      { update: true },
    );
    expect(created).toBe(false);
    expect(user).toMatchObject({ id: u.id, isPlatformAdmin: true, disabledAt: null });
    const row = await db().user.findUniqueOrThrow({ where: { id: u.id } });
    expect(row.sessionVersion).toBe(1);
    expect(await authenticate(db(), u.email, "brand new password")).toMatchObject({ id: u.id });
    expect(await authenticate(db(), u.email, TEST_PASSWORD)).toBeNull();
    const audit = await db().auditLog.findMany({ where: { targetId: u.id, action: "user.promote" } });
    expect(audit).toHaveLength(1);
  });

  it("createUser refuses bad input from any caller (not only tRPC)", async () => {
    await expect(
      createUser(db(), CLI_ACTOR, { email: "bad", password: "long enough password", name: "", isPlatformAdmin: false }),
    ).rejects.toThrow(/email/i);
  });
});
