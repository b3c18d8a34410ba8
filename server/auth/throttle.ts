/**
 * Failed sign-in throttling, per account and per client IP. State lives in the
 * database (AuthThrottle) so it survives restarts and is shared by replicas.
 */
import type { Db } from "../db/client";

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
  for (const { key, limit } of throttleKeys(email, ip)) {
    const row = await db.authThrottle.findUnique({ where: { key } });
    const fresh = !row || now.getTime() - row.windowStart.getTime() > WINDOW_MS;
    const failures = fresh ? 1 : row.failures + 1;
    const data = {
      failures,
      windowStart: fresh ? now : row.windowStart,
      lockedUntil: failures >= limit ? new Date(now.getTime() + LOCK_MS) : (row?.lockedUntil ?? null),
    };
    await db.authThrottle.upsert({ where: { key }, create: { key, ...data }, update: data });
  }
}

export async function recordSuccess(db: Db, email: string) {
  await db.authThrottle.deleteMany({ where: { key: throttleKeys(email, null)[0]!.key } });
}
