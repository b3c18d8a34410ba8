import type { Db } from "../db/client";

export interface SessionInfo {
  userId: string;
  sessionVersion: number;
}

export const sessionUserSelect = {
  id: true,
  email: true,
  name: true,
  isPlatformAdmin: true,
  disabledAt: true,
  sessionVersion: true,
} as const;

/**
 * The user behind a session, or null when the session no longer counts: the user
 * is gone or disabled, or the session predates a password change (sessionVersion).
 * Both tRPC and server-rendered pages decide "signed in" with this.
 */
export async function resolveSessionUser(db: Db, session: SessionInfo | null) {
  if (!session) return null;
  const user = await db.user.findUnique({ where: { id: session.userId }, select: sessionUserSelect });
  if (!user || user.disabledAt || user.sessionVersion !== session.sessionVersion) return null;
  return user;
}
