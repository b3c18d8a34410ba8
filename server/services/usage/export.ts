/**
 * The usage CSV export, both halves: `startUsageExport` (usage.exportCsv: the caller's
 * role was checked by the procedure) writes the audit entry and answers a 2-minute
 * download token (export-token.ts); `openUsageExport` (GET <base>/api/usage/export)
 * checks that token against the browser session and hands back the rows to stream.
 */
import type { Db } from "../../db/client";
import { type Actor, recordAudit } from "../audit/audit";
import { usageCsv } from "./dashboard";
import { mintExportToken, verifyExportToken } from "./export-token";
import type { UsageFilter } from "./schemas";

export async function startUsageExport(
  db: Db,
  actor: Actor & { userId: string },
  tenantId: string,
  filter: UsageFilter,
): Promise<{ token: string }> {
  const token = await mintExportToken({ tenantId, userId: actor.userId, filter });
  await recordAudit(db, actor, { tenantId, action: "usage.export", targetType: "tenant", targetId: tenantId, data: { filter } });
  return { token };
}

export type UsageExportDownload =
  | { ok: true; filename: string; rows: AsyncGenerator<string> }
  | { ok: false; status: 403 | 404; message: string };

/**
 * What a download link grants. `signedInUserId` is asked only for a valid token: the link
 * works only in the browser session it was made for.
 */
export async function openUsageExport(
  db: Db,
  token: string,
  signedInUserId: () => Promise<string | null>,
  now: Date = new Date(),
): Promise<UsageExportDownload> {
  const grant = await verifyExportToken(token);
  if (!grant) return { ok: false, status: 403, message: "This export link is invalid or has expired. Start the export again from the console." };
  if ((await signedInUserId()) !== grant.userId) {
    return { ok: false, status: 403, message: "This export link belongs to another session. Start the export again." };
  }
  const tenant = await db.tenant.findUnique({ where: { id: grant.tenantId }, select: { slug: true } });
  if (!tenant) return { ok: false, status: 404, message: "This tenant no longer exists." };
  const day = now.toISOString().slice(0, 10);
  return { ok: true, filename: `usage-${tenant.slug}-${day}.csv`, rows: usageCsv(db, grant.tenantId, grant.filter) };
}
