/**
 * Failed sign-in throttling, per account and per client IP. State lives in the
 * database (AuthThrottle) so it survives restarts and is shared by replicas.
 */
import type { Db } from "../db/client";
import { isUniqueViolation } from "../errors";

const WINDOW_MS = 15 * 60_000;
const LOCK_MS = 15 * 60_000;
export const LIMITS = { account: 5, ip: 30 } as const;

export function throttleKeys(email: string, ip: string | null) {
  const keys: { key: string; limit: number }[] = [{ key: `acct:${email.trim().toLowerCase()}`, limit: LIMITS.account }];
  if (ip) keys.push({ key: `ip:${ip}`, limit: LIMITS.ip });
  return keys;
}

/** Seconds until sign-in may be tried again, or 0 if it may be tried now. */
export async function lockedFor(db: Db, email: string, ip: string | null, now = new Date()): Promise<number> {
  const rows = await db.authThrottle.findMany({
    where: { key: { in: throttleKeys(email, ip).map((k) => k.key) }, lockedUntil: { gt: now } },
    select: { lockedUntil: true },
  });
  const until = Math.max(0, ...rows.map((r) => r.lockedUntil!.getTime()));
  return until > now.getTime() ? Math.ceil((until - now.getTime()) / 1000) : 0;
}

export async function recordFailure(db: Db, email: string, ip: string | null, now = new Date()) {
  // Each step is a single atomic statement: parallel failed sign-ins must each count
  // (a read-then-write lost updates, so a burst of N guesses counted as one).
  for (const { key, limit } of throttleKeys(email, ip)) {
    try {
      await db.authThrottle.create({ data: { key, failures: 0, windowStart: now } });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e; // the row exists already
    }
    // a window that has run out starts again (only one of several racing callers matches)
    await db.authThrottle.updateMany({
      where: { key, windowStart: { lt: new Date(now.getTime() - WINDOW_MS) } },
      data: { failures: 0, windowStart: now },
    });
    const row = await db.authThrottle.update({ where: { key }, data: { failures: { increment: 1 } } });
    if (row.failures >= limit) {
      await db.authThrottle.update({ where: { key }, data: { lockedUntil: new Date(now.getTime() + LOCK_MS) } });
    }
  }
}

export async function recordSuccess(db: Db, email: string) {
  await db.authThrottle.deleteMany({ where: { key: throttleKeys(email, null)[0]!.key } });
}
