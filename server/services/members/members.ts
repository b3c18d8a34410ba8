import type { Db, Tx } from "../../db/client";
import { Conflict, NotFound, isUniqueViolation } from "../../errors";
import { newId } from "../../lib/ids";
import { type Actor, recordAudit } from "../audit/audit";
import { AddMemberInput, ChangeRoleInput, RemoveMemberInput } from "./schemas";

const memberSelect = {
  id: true,
  role: true,
  createdAt: true,
  user: { select: { id: true, email: true, name: true, disabledAt: true } },
} as const;

export async function listMembers(db: Db, tenantId: string) {
  return db.membership.findMany({
    where: { tenantId },
    orderBy: { createdAt: "asc" },
    select: memberSelect,
  });
}

export async function addMember(db: Db, actor: Actor, tenantId: string, raw: AddMemberInput) {
  const input = AddMemberInput.parse(raw);
  try {
    return await db.$transaction(async (tx) => {
      const user = await tx.user.findUnique({ where: { email: input.email }, select: { id: true } });
      if (!user) throw NotFound(`User with email ${input.email}`);
      const member = await tx.membership.create({
        data: { id: newId("mem"), tenantId, userId: user.id, role: input.role },
        select: memberSelect,
      });
      await recordAudit(tx, actor, {
        tenantId,
        action: "member.add",
        targetType: "membership",
        targetId: member.id,
        data: { email: input.email, role: input.role },
      });
      return member;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw Conflict(`${input.email} is already a member of this tenant`, "already_member", "email");
    throw e;
  }
}

/** A tenant that has owners keeps at least one: otherwise nobody could manage its members. */
async function assertNotLastOwner(tx: Tx, tenantId: string, membershipId: string) {
  // Write-lock the tenant row first so concurrent owner demotions/removals take turns; otherwise
  // (PostgreSQL, READ COMMITTED) two owners removing each other both see "another owner" and leave none.
  await tx.tenant.update({ where: { id: tenantId }, data: { updatedAt: new Date() }, select: { id: true } });
  const owners = await tx.membership.count({ where: { tenantId, role: "owner", id: { not: membershipId } } });
  if (owners === 0) throw Conflict("A tenant must keep at least one owner", "last_owner");
}

export async function changeMemberRole(db: Db, actor: Actor, tenantId: string, raw: ChangeRoleInput) {
  const input = ChangeRoleInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await tx.membership.findFirst({
      where: { id: input.membershipId, tenantId },
      select: { role: true, user: { select: { email: true } } },
    });
    if (!before) throw NotFound("Member");
    if (before.role === "owner" && input.role !== "owner") await assertNotLastOwner(tx, tenantId, input.membershipId);
    const { count } = await tx.membership.updateMany({
      where: { id: input.membershipId, tenantId },
      data: { role: input.role },
    });
    if (count !== 1) throw NotFound("Member");
    await recordAudit(tx, actor, {
      tenantId,
      action: "member.role_change",
      targetType: "membership",
      targetId: input.membershipId,
      data: { email: before.user.email, from: before.role, to: input.role },
    });
    return tx.membership.findFirstOrThrow({ where: { id: input.membershipId, tenantId }, select: memberSelect });
  });
}

export async function removeMember(db: Db, actor: Actor, tenantId: string, raw: RemoveMemberInput) {
  const input = RemoveMemberInput.parse(raw);
  await db.$transaction(async (tx) => {
    const before = await tx.membership.findFirst({
      where: { id: input.membershipId, tenantId },
      select: { role: true, user: { select: { email: true } } },
    });
    if (!before) throw NotFound("Member");
    if (before.role === "owner") await assertNotLastOwner(tx, tenantId, input.membershipId);
    const { count } = await tx.membership.deleteMany({ where: { id: input.membershipId, tenantId } });
    if (count !== 1) throw NotFound("Member");
    await recordAudit(tx, actor, {
      tenantId,
      action: "member.remove",
      targetType: "membership",
      targetId: input.membershipId,
      data: { email: before.user.email, role: before.role },
    });
  });
}

/** The role a user holds in a tenant, or null. The one query every tenant-scoped check uses. */
export async function membershipRole(db: Db, tenantId: string, userId: string) {
  const m = await db.membership.findUnique({
    where: { tenantId_userId: { tenantId, userId } },
    select: { role: true },
  });
  return m?.role ?? null;
}
