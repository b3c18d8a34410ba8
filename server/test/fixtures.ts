/**
 * Builders for integration tests: real rows in the run's database, unique per
 * call, so tests never share a tenant and can run in parallel.
 */
import { randomBytes } from "node:crypto";
import { db } from "../db/client";
import type { Role } from "../db/client";
import { CLI_ACTOR } from "../services/audit/audit";
import { addMember } from "../services/members/members";
import { createTenant } from "../services/tenants/tenants";
import { createUser } from "../services/users/users";
import { createContext } from "../trpc/init";
import { createCaller } from "../trpc/root";

export const uniq = () => randomBytes(4).toString("hex");

/** The password makeUser gives a user unless told otherwise. */
export const TEST_PASSWORD = "correct horse battery";

export async function makeUser(opts: { admin?: boolean; password?: string } = {}) {
  const email = `u-${uniq()}@example.test`;
  const password = opts.password ?? TEST_PASSWORD;
  const user = await createUser(db(), CLI_ACTOR, { email, name: "Test User", password, isPlatformAdmin: !!opts.admin });
  return { ...user, password };
}

export type TestTenant = Awaited<ReturnType<typeof makeTenant>>;

export async function makeTenant() {
  const s = uniq();
  return createTenant(db(), CLI_ACTOR, { slug: `t-${s}`, name: `Tenant ${s}` });
}

/** A tenant with one member of the given role; returns both and a tRPC caller acting as that member. */
export async function tenantWithMember(role: Role) {
  const tenant = await makeTenant();
  const user = await makeUser();
  await addMember(db(), CLI_ACTOR, tenant.id, { email: user.email, role });
  return { tenant, user, caller: callerFor(user.id) };
}

/** A new user added to a tenant with `role` (by the CLI actor); returns the user and the membership id. */
export async function addMemberTo(tenantId: string, role: Role) {
  const user = await makeUser();
  const membership = await addMember(db(), CLI_ACTOR, tenantId, { email: user.email, role });
  return { user, membershipId: membership.id };
}

export function callerFor(userId: string | null, sessionVersion = 0) {
  return createCaller(createContext({ session: userId ? { userId, sessionVersion } : null, db: db() }));
}
