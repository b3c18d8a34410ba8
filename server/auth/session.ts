import "server-only";
import { getServerSession } from "next-auth";
import { db } from "../db/client";
import { authOptions } from "./options";
import { type SessionInfo, resolveSessionUser } from "./session-user";

/** The signed-in user's id and session version, from the session cookie (server side only). */
export async function getSessionInfo(): Promise<SessionInfo | null> {
  const session = await getServerSession(authOptions());
  const userId = (session?.user as { id?: string } | undefined)?.id;
  if (!userId) return null;
  return { userId, sessionVersion: (session as { sv?: number }).sv ?? 0 };
}

/** The signed-in, still-valid user for a server component, or null. */
export async function getSignedInUser() {
  return resolveSessionUser(db(), await getSessionInfo());
}
