import type { Db, Role, TenantStatus } from "../../db/client";
import { Conflict, NotFound, isUniqueViolation } from "../../errors";
import { newId } from "../../lib/ids";
import { type Actor, recordAudit } from "../audit/audit";
import { CreateTenantInput, TenantStatusInput, UpdateTenantInput } from "./schemas";

export const tenantSelect = {
  id: true,
  slug: true,
  name: true,
  status: true,
  suspendedAt: true,
  createdAt: true,
  updatedAt: true,
} as const;

export async function createTenant(db: Db, actor: Actor, raw: CreateTenantInput) {
  const input = CreateTenantInput.parse(raw);
  try {
    return await db.$transaction(async (tx) => {
      const tenant = await tx.tenant.create({
        data: { id: newId("tnt"), slug: input.slug, name: input.name },
        select: tenantSelect,
      });
      await recordAudit(tx, actor, {
        tenantId: tenant.id,
        action: "tenant.create",
        targetType: "tenant",
        targetId: tenant.id,
        data: { slug: tenant.slug, name: tenant.name },
      });
      return tenant;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw Conflict(`The slug "${input.slug}" is already taken`, "slug_taken", "slug");
    throw e;
  }
}

/** Tenants a user can see: all of them for a platform admin, else those they are a member of. */
export async function listTenantsFor(db: Db, user: { id: string; isPlatformAdmin: boolean }) {
  const rows = await db.tenant.findMany({
    where: user.isPlatformAdmin ? {} : { memberships: { some: { userId: user.id } } },
    orderBy: { name: "asc" },
    select: {
      ...tenantSelect,
      _count: { select: { memberships: true } },
      memberships: { where: { userId: user.id }, select: { role: true } },
    },
  });
  return rows.map(({ memberships, _count, ...t }) => ({
    ...t,
    memberCount: _count.memberships,
    role: (memberships[0]?.role ?? null) as Role | null,
  }));
}

export async function getTenant(db: Db, tenantId: string) {
  const tenant = await db.tenant.findUnique({ where: { id: tenantId }, select: tenantSelect });
  if (!tenant) throw NotFound("Tenant");
  return tenant;
}

export async function findTenantBySlug(db: Db, slug: string) {
  const tenant = await db.tenant.findUnique({ where: { slug: slug.trim().toLowerCase() }, select: tenantSelect });
  if (!tenant) throw NotFound(`Tenant "${slug}"`);
  return tenant;
}

export async function updateTenant(db: Db, actor: Actor, tenantId: string, raw: UpdateTenantInput) {
  const input = UpdateTenantInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await tx.tenant.findUnique({ where: { id: tenantId }, select: { name: true } });
    if (!before) throw NotFound("Tenant");
    const tenant = await tx.tenant.update({ where: { id: tenantId }, data: { name: input.name }, select: tenantSelect });
    await recordAudit(tx, actor, {
      tenantId,
      action: "tenant.update",
      targetType: "tenant",
      targetId: tenantId,
      data: { name: { from: before.name, to: tenant.name } },
    });
    return tenant;
  });
}

export async function setTenantStatus(db: Db, actor: Actor, tenantId: string, rawStatus: TenantStatus) {
  const status = TenantStatusInput.parse(rawStatus);
  return db.$transaction(async (tx) => {
    const before = await tx.tenant.findUnique({ where: { id: tenantId }, select: tenantSelect });
    if (!before) throw NotFound("Tenant");
    // Already in that status: change nothing (re-suspending must not move suspendedAt unaudited).
    if (before.status === status) return before;
    const tenant = await tx.tenant.update({
      where: { id: tenantId },
      data: { status, suspendedAt: status === "suspended" ? new Date() : null },
      select: tenantSelect,
    });
    await recordAudit(tx, actor, {
      tenantId,
      action: status === "suspended" ? "tenant.suspend" : "tenant.activate",
      targetType: "tenant",
      targetId: tenantId,
    });
    return tenant;
  });
}
