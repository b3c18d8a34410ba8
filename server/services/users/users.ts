import { hashPassword, verifyPassword } from "../../auth/password";
import type { Db } from "../../db/client";
import { Conflict, Forbidden, Invalid, NotFound, isUniqueViolation } from "../../errors";
import { newId } from "../../lib/ids";
import { type Actor, recordAudit } from "../audit/audit";
import { ChangePasswordInput, CreateUserInput, SetUserDisabledInput } from "./schemas";

/** The user fields that may leave the server. Never the password hash. */
export const userSelect = {
  id: true,
  email: true,
  name: true,
  isPlatformAdmin: true,
  disabledAt: true,
  lastLoginAt: true,
  createdAt: true,
} as const;

export async function createUser(db: Db, actor: Actor, raw: CreateUserInput) {
  const input = CreateUserInput.parse(raw);
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: {
          id: newId("usr"),
          email: input.email,
          name: input.name,
          passwordHash,
          isPlatformAdmin: input.isPlatformAdmin,
        },
        select: userSelect,
      });
      await recordAudit(tx, actor, {
        action: "user.create",
        targetType: "user",
        targetId: user.id,
        data: { email: user.email, isPlatformAdmin: user.isPlatformAdmin },
      });
      return user;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw Conflict(`A user with email ${input.email} already exists`, "email_taken", "email");
    throw e;
  }
}

export async function listUsers(db: Db, opts: { query?: string; limit?: number } = {}) {
  return db.user.findMany({
    where: opts.query ? { email: { contains: opts.query.toLowerCase() } } : {},
    orderBy: { createdAt: "asc" },
    take: opts.limit ?? 500,
    select: { ...userSelect, _count: { select: { memberships: true } } },
  });
}

export async function setUserDisabled(db: Db, actor: Actor, raw: SetUserDisabledInput) {
  const input = SetUserDisabledInput.parse(raw);
  if (input.userId === actor.userId) throw Invalid("You cannot disable your own account", "userId");
  return db.$transaction(async (tx) => {
    const existing = await tx.user.findUnique({ where: { id: input.userId }, select: { id: true } });
    if (!existing) throw NotFound("User");
    const user = await tx.user.update({
      where: { id: input.userId },
      // bumping sessionVersion ends every live session of a disabled user at once
      data: input.disabled
        ? { disabledAt: new Date(), sessionVersion: { increment: 1 } }
        : { disabledAt: null },
      select: userSelect,
    });
    await recordAudit(tx, actor, {
      action: input.disabled ? "user.disable" : "user.enable",
      targetType: "user",
      targetId: user.id,
      data: { email: user.email },
    });
    return user;
  });
}

export async function changePassword(db: Db, actor: Actor, raw: ChangePasswordInput) {
  const input = ChangePasswordInput.parse(raw);
  if (!actor.userId) throw Forbidden();
  const user = await db.user.findUnique({ where: { id: actor.userId } });
  if (!user || !(await verifyPassword(input.currentPassword, user.passwordHash))) {
    throw Invalid("Current password is incorrect", "currentPassword");
  }
  const passwordHash = await hashPassword(input.newPassword);
  await db.$transaction(async (tx) => {
    await tx.user.update({
      where: { id: user.id },
      data: { passwordHash, sessionVersion: { increment: 1 } },
    });
    await recordAudit(tx, actor, { action: "user.password_change", targetType: "user", targetId: user.id });
  });
}

/**
 * Creates a platform admin, or — with `update` — promotes an existing user and
 * resets their password. Used by set-up and `cli admin create`.
 */
export async function createPlatformAdmin(
  db: Db,
  actor: Actor,
  raw: { email: string; password: string; name?: string },
  opts: { update?: boolean } = {},
) {
  const input = CreateUserInput.parse({ ...raw, isPlatformAdmin: true });
  const existing = await db.user.findUnique({ where: { email: input.email } });
  if (!existing) return { user: await createUser(db, actor, input), created: true };
  if (!opts.update) throw Conflict(`A user with email ${input.email} already exists`, "email_taken", "email");
  const passwordHash = await hashPassword(input.password);
  const user = await db.$transaction(async (tx) => {
    const u = await tx.user.update({
      where: { id: existing.id },
      data: { isPlatformAdmin: true, passwordHash, disabledAt: null, sessionVersion: { increment: 1 } },
      select: userSelect,
    });
    await recordAudit(tx, actor, { action: "user.promote", targetType: "user", targetId: u.id, data: { email: u.email } });
    return u;
  });
  return { user, created: false };
}

export async function countPlatformAdmins(db: Db): Promise<number> {
  return db.user.count({ where: { isPlatformAdmin: true, disabledAt: null } });
}
