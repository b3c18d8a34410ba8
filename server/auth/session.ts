import { getServerSession } from "next-auth";
import type { SessionInfo } from "../trpc/init";
import { authOptions } from "./options";

/** The signed-in user's id and session version, from the session cookie (server side only). */
export async function getSessionInfo(): Promise<SessionInfo | null> {
  const session = await getServerSession(authOptions());
  const userId = (session?.user as { id?: string } | undefined)?.id;
  if (!userId) return null;
  return { userId, sessionVersion: (session as { sv?: number }).sv ?? 0 };
}
