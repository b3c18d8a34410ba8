/** Email + password sign-in: the credential check next-auth's credentials provider calls. */
import type { Db } from "../db/client";
import { verifyPassword } from "./password";

/** Longest address a user can have (the Email schema in services/users/schemas.ts). */
const MAX_EMAIL_LENGTH = 254;

/**
 * Checks email + password. Returns the user only if the account is usable.
 * Addresses are stored as the Email schema normalises them (trimmed, lower case), so
 * the same normalisation finds the row; anything else matches no user and costs a
 * dummy hash comparison like an unknown address does.
 */
export async function authenticate(db: Db, email: string, password: string) {
  const normalised = email.trim().toLowerCase();
  const user = normalised && normalised.length <= MAX_EMAIL_LENGTH ? await db.user.findUnique({ where: { email: normalised } }) : null;
  const ok = await verifyPassword(password, user?.passwordHash);
  if (!ok || !user || user.disabledAt) return null;
  await db.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
  return user;
}
