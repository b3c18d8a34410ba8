/**
 * Access tokens for the console playground: a signed-in member mints a 15-minute
 * token to call /api/v1 as themselves in one tenant. Issuing one is audited (it is
 * a bearer credential), the token itself never is.
 */
import { mintAccessToken } from "../../auth/access-token";
import type { Db } from "../../db/client";
import { Forbidden } from "../../errors";
import { type Actor, recordAudit } from "../audit/audit";

export async function issueAccessToken(
  db: Db,
  actor: Actor,
  tenantId: string,
  opts: { sessionVersion?: number } = {},
): Promise<{ token: string; expiresAt: Date; tenantId: string }> {
  if (!actor.userId) throw Forbidden("Access tokens are issued to signed-in users only", "user_required");
  const { token, expiresAt } = await mintAccessToken({ userId: actor.userId, tenantId, sessionVersion: opts.sessionVersion });
  await recordAudit(db, actor, {
    tenantId,
    action: "access_token.issue",
    targetType: "user",
    targetId: actor.userId,
    data: { expiresAt: expiresAt.toISOString() },
  });
  return { token, expiresAt, tenantId };
}
