import type { Db, Tx } from "../../db/client";
import { newId } from "../../lib/ids";

/** Who performed an action. `label` is what people read in the audit log. */
export interface Actor {
  userId: string | null;
  label: string;
  isPlatformAdmin: boolean;
  ip?: string | null;
}

export const CLI_ACTOR: Actor = { userId: null, label: "cli", isPlatformAdmin: true };

export interface AuditEntry {
  tenantId?: string | null;
  action: string;
  targetType: string;
  targetId?: string | null;
  data?: Record<string, unknown>;
}

/** Call inside the same transaction as the change, so a change and its audit row land together. */
export async function recordAudit(tx: Tx | Db, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.auditLog.create({
    data: {
      id: newId("aud"),
      tenantId: entry.tenantId ?? null,
      actorUserId: actor.userId,
      actorLabel: actor.label,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      data: entry.data ? JSON.stringify(entry.data) : null,
      ip: actor.ip ?? null,
    },
  });
}

export interface AuditListInput {
  /** null = platform-level entries and every tenant's (platform admins only) */
  tenantId: string | null;
  action?: string;
  cursor?: string;
  limit: number;
}

export async function listAudit(db: Db, input: AuditListInput) {
  const rows = await db.auditLog.findMany({
    where: {
      ...(input.tenantId !== null ? { tenantId: input.tenantId } : {}),
      ...(input.action ? { action: { startsWith: input.action } } : {}),
      ...(input.cursor ? { id: { lt: input.cursor } } : {}),
    },
    orderBy: { id: "desc" },
    take: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  return {
    items: page.map((r) => ({ ...r, data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null })),
    nextCursor: rows.length > input.limit ? page[page.length - 1]!.id : null,
  };
}
