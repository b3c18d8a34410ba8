/**
 * Sign-in throttling against the real AuthThrottle table. Time is passed in
 * explicitly (`now`), so windows and locks are tested without waiting.
 */
import { describe, expect, it } from "vitest";
import { db } from "../db/client";
import { TEST_PASSWORD, makeUser, uniq } from "../test/fixtures";
import { LIMITS, lockedFor, recordFailure, recordSuccess } from "./throttle";

const MIN = 60_000;
const email = () => `throttle-${uniq()}@example.test`;
/** An address no other test uses (tests share the database): 2001:db8::/32 is for documentation. */
const ip = () => `2001:db8::${uniq().slice(0, 4)}:${uniq().slice(0, 4)}`;

async function fail(account: string, from: string | null, times: number, now: Date) {
  for (let i = 0; i < times; i++) await recordFailure(db(), account, from, now);
}

describe("per-account throttle", () => {
  it(`locks an account after ${LIMITS.account} failures in the window, for about 15 minutes`, async () => {
    const acct = email();
    const t0 = new Date();
    await fail(acct, null, LIMITS.account - 1, t0);
    expect(await lockedFor(db(), acct, null, t0)).toBe(0);
    await fail(acct, null, 1, t0);
    expect(await lockedFor(db(), acct, null, t0)).toBe(15 * 60);
    expect(await lockedFor(db(), acct, null, new Date(t0.getTime() + 10 * MIN))).toBe(5 * 60);
    expect(await lockedFor(db(), acct, null, new Date(t0.getTime() + 15 * MIN + 1))).toBe(0);
  });

  it("matches the account case-insensitively and ignores surrounding spaces", async () => {
    const acct = email();
    const t0 = new Date();
    await fail(acct.toUpperCase(), null, LIMITS.account - 1, t0);
    await fail(` ${acct} `, null, 1, t0);
    expect(await lockedFor(db(), acct, null, t0)).toBeGreaterThan(0);
  });

  it("leaves other accounts alone", async () => {
    const locked = email();
    const other = email();
    const t0 = new Date();
    await fail(locked, null, LIMITS.account, t0);
    expect(await lockedFor(db(), locked, null, t0)).toBeGreaterThan(0);
    expect(await lockedFor(db(), other, null, t0)).toBe(0);
  });

  it("a success clears the account's failures", async () => {
    const acct = email();
    const t0 = new Date();
    await fail(acct, null, LIMITS.account - 1, t0);
    await recordSuccess(db(), acct);
    expect(await db().authThrottle.findUnique({ where: { key: `acct:${acct}` } })).toBeNull();
    await fail(acct, null, LIMITS.account - 1, t0);
    expect(await lockedFor(db(), acct, null, t0)).toBe(0);
  });

  it("counts every one of many simultaneous failures (no lost updates), so a burst locks the account", async () => {
    const acct = email();
    const t0 = new Date();
    const burst = LIMITS.account * 3;
    await Promise.all(Array.from({ length: burst }, () => recordFailure(db(), acct, null, t0)));
    expect((await db().authThrottle.findUniqueOrThrow({ where: { key: `acct:${acct}` } })).failures).toBe(burst);
    expect(await lockedFor(db(), acct, null, t0)).toBeGreaterThan(0);
  });

  it("failures older than the window do not count", async () => {
    const acct = email();
    const t0 = new Date();
    await fail(acct, null, LIMITS.account - 1, t0);
    const later = new Date(t0.getTime() + 16 * MIN);
    await fail(acct, null, 1, later);
    expect(await lockedFor(db(), acct, null, later)).toBe(0);
    expect((await db().authThrottle.findUniqueOrThrow({ where: { key: `acct:${acct}` } })).failures).toBe(1);
  });
});

describe("per-IP throttle", () => {
  it(`locks an IP after ${LIMITS.ip} failures across accounts; other IPs and accounts elsewhere are fine`, async () => {
    const addr = ip();
    const t0 = new Date();
    // spread over many accounts so no single account hits its own limit
    for (let i = 0; i < LIMITS.ip - 1; i++) await recordFailure(db(), email(), addr, t0);
    const fresh = email();
    expect(await lockedFor(db(), fresh, addr, t0)).toBe(0);
    await recordFailure(db(), email(), addr, t0);
    expect(await lockedFor(db(), fresh, addr, t0)).toBeGreaterThan(0);
    expect(await lockedFor(db(), fresh, ip(), t0)).toBe(0);
    expect(await lockedFor(db(), fresh, null, t0)).toBe(0);
    // a successful sign-in of one account does not lift the IP lock
    await recordSuccess(db(), fresh);
    expect(await lockedFor(db(), fresh, addr, t0)).toBeGreaterThan(0);
  });
});

describe("the credentials provider (authorize) with throttling", () => {
  type Authorize = (c: Record<string, string>, req: { headers: Record<string, string> }) => Promise<unknown>;

  async function authorizeFn(): Promise<Authorize> {
    const { authOptions } = await import("./options");
    const provider = authOptions().providers.find((p) => p.id === "credentials") as unknown as {
      options: { authorize: Authorize };
    };
    return provider.options.authorize;
  }

  it("signs in with the right password, refuses a wrong one, and locks after too many failures", async () => {
    const { ThrottledError } = await import("./options");
    const authorize = await authorizeFn();
    const u = await makeUser();
    const req = { headers: { "x-forwarded-for": `198.51.100.1, ${ip()}` } };

    expect(await authorize({ email: u.email, password: TEST_PASSWORD }, req)).toMatchObject({ id: u.id, sv: 0 });
    for (let i = 0; i < LIMITS.account; i++) {
      expect(await authorize({ email: u.email, password: "wrong password" }, req)).toBeNull();
    }
    // now even the right password is refused until the lock ends
    await expect(authorize({ email: u.email, password: TEST_PASSWORD }, req)).rejects.toBeInstanceOf(ThrottledError);
    // another account from another address is unaffected
    const other = await makeUser();
    expect(await authorize({ email: other.email, password: TEST_PASSWORD }, { headers: { "x-forwarded-for": ip() } })).toMatchObject({
      id: other.id,
    });
  });

  it("a success resets the account's failure count", async () => {
    const authorize = await authorizeFn();
    const u = await makeUser();
    const req = { headers: { "x-forwarded-for": ip() } };
    for (let i = 0; i < LIMITS.account - 1; i++) await authorize({ email: u.email, password: "wrong password" }, req);
    expect(await authorize({ email: u.email, password: TEST_PASSWORD }, req)).toMatchObject({ id: u.id });
    for (let i = 0; i < LIMITS.account - 1; i++) await authorize({ email: u.email, password: "wrong password" }, req);
    expect(await authorize({ email: u.email, password: TEST_PASSWORD }, req)).toMatchObject({ id: u.id });
  });

  it("refuses empty credentials without touching the counters", async () => {
    const authorize = await authorizeFn();
    const acct = email();
    expect(await authorize({ email: acct, password: "" }, { headers: {} })).toBeNull();
    expect(await db().authThrottle.findUnique({ where: { key: `acct:${acct}` } })).toBeNull();
  });
});
