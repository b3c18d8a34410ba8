/**
 * Access tokens (the playground's /api/v1 credential): the JWT checks, and the
 * database checks behind them — the user must still exist, be enabled, be on the
 * same session version and hold member or higher in the tenant.
 */
import { SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { NO_LIMITS } from "./principal";
import { db } from "../db/client";
import { createApiKey } from "../services/api-keys/api-keys";
import { CLI_ACTOR } from "../services/audit/audit";
import { addMember, removeMember } from "../services/members/members";
import { setTenantStatus } from "../services/tenants/tenants";
import { TEST_PASSWORD, addMemberTo, callerFor, makeTenant, makeUser, tenantWithMember } from "../test/fixtures";
import { auditBy } from "../test/trpc";
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  ACCESS_TOKEN_TTL_SECONDS,
  GRANT_TTL_MS,
  mintAccessToken,
  verifyAccessToken,
} from "./access-token";
import { verifyBearer } from "./bearer";
import { KEY_INFO, deriveKey } from "./derived-keys";

/** The signing key, derived here independently of the module under test. */
const signingKey = () => deriveKey(process.env.AUTH_SECRET!, KEY_INFO.accessToken);

async function sign(
  claims: Record<string, unknown>,
  opts: { aud?: string; iss?: string; sub: string; exp?: number; key?: Uint8Array },
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(opts.iss ?? ACCESS_TOKEN_ISSUER)
    .setAudience(opts.aud ?? ACCESS_TOKEN_AUDIENCE)
    .setSubject(opts.sub)
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 600)
    .sign(opts.key ?? signingKey());
}

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString()) as Record<string, unknown>;

describe("mint and verify", () => {
  it("a member's token verifies to an access_token principal with every scope and every model", async () => {
    const { tenant, user } = await tenantWithMember("member");
    const before = Date.now();
    const { token, expiresAt } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    expect(expiresAt.getTime() - before).toBeGreaterThan(ACCESS_TOKEN_TTL_SECONDS * 1000 - 2000);
    expect(expiresAt.getTime() - before).toBeLessThanOrEqual(ACCESS_TOKEN_TTL_SECONDS * 1000);
    expect(ACCESS_TOKEN_TTL_SECONDS).toBe(15 * 60);

    const [header, payload] = token.split(".");
    expect(decode(header!)).toMatchObject({ alg: "HS256" });
    expect(decode(payload!)).toMatchObject({
      iss: "switchyard",
      aud: "switchyard-api",
      sub: user.id,
      tid: tenant.id,
      exp: Math.floor(expiresAt.getTime() / 1000),
    });

    expect(await verifyAccessToken(token)).toEqual({
      kind: "access_token",
      tenantId: tenant.id,
      tenantSlug: tenant.slug,
      tenantStatus: "active",
      apiKeyId: null,
      userId: user.id,
      scopes: ["chat", "completions", "embeddings", "models"],
      models: null,
      // only the tenant's limits apply to console tokens
      limits: { tenant: { ...NO_LIMITS, budgetWarnPercent: null }, key: null },
    });
  });

  it("a token signed here with the same derived key verifies (the derivation is the documented one)", async () => {
    const { tenant, user } = await tenantWithMember("admin");
    expect(await verifyAccessToken(await sign({ tid: tenant.id }, { sub: user.id }))).toMatchObject({ userId: user.id });
  });

  it("playground.token mints one for the caller, audited without the token", async () => {
    const { tenant, user, caller } = await tenantWithMember("member");
    const { token, expiresAt, tenantId } = await caller.playground.token({ tenantId: tenant.id });
    expect(tenantId).toBe(tenant.id);
    expect(expiresAt).toBeInstanceOf(Date);
    expect(await verifyAccessToken(token)).toMatchObject({ kind: "access_token", userId: user.id, tenantId: tenant.id });
    const audit = await auditBy(user.id);
    expect(audit.map((r) => [r.action, r.tenantId, r.targetId])).toEqual([["access_token.issue", tenant.id, user.id]]);
    expect(audit[0]!.data).not.toContain(token.split(".")[2]!);
  });

  it("a platform admin who is not a member counts as owner", async () => {
    const admin = await makeUser({ admin: true });
    const tenant = await makeTenant();
    const { token } = await mintAccessToken({ userId: admin.id, tenantId: tenant.id });
    expect(await verifyAccessToken(token)).toMatchObject({ userId: admin.id, tenantId: tenant.id });
  });

  it("a suspended tenant still resolves, with tenantStatus suspended (the /v1 layer answers 403)", async () => {
    const { tenant, user } = await tenantWithMember("owner");
    await setTenantStatus(db(), CLI_ACTOR, tenant.id, "suspended");
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    expect(await verifyAccessToken(token)).toMatchObject({ tenantStatus: "suspended" });
  });
});

describe("tokens that must not verify", () => {
  it("expired", async () => {
    const { tenant, user } = await tenantWithMember("member");
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id }, Date.now() - (ACCESS_TOKEN_TTL_SECONDS + 5) * 1000);
    expect(await verifyAccessToken(token)).toBeNull();
  });

  it("wrong audience or issuer, or no tenant claim", async () => {
    const { tenant, user } = await tenantWithMember("member");
    expect(await verifyAccessToken(await sign({ tid: tenant.id }, { sub: user.id, aud: "something-else" }))).toBeNull();
    expect(await verifyAccessToken(await sign({ tid: tenant.id }, { sub: user.id, iss: "someone-else" }))).toBeNull();
    expect(await verifyAccessToken(await sign({}, { sub: user.id }))).toBeNull();
    expect(await verifyAccessToken(await sign({ tid: 42 }, { sub: user.id }))).toBeNull();
  });

  it("signed with another key (another secret, or AUTH_SECRET itself, or another purpose's key)", async () => {
    const { tenant, user } = await tenantWithMember("member");
    for (const key of [
      deriveKey("a-different-secret-0123456789abcdef", KEY_INFO.accessToken),
      new TextEncoder().encode(process.env.AUTH_SECRET!),
      deriveKey(process.env.AUTH_SECRET!, KEY_INFO.apiKeyHmac),
    ]) {
      expect(await verifyAccessToken(await sign({ tid: tenant.id }, { sub: user.id, key }))).toBeNull();
    }
  });

  it("tampered: another tenant or user in the payload, a changed signature, alg none", async () => {
    // the tampered claims name grants that exist, so only the signature can refuse them
    const { tenant, user } = await tenantWithMember("member");
    const colleague = await addMemberTo(tenant.id, "owner");
    const other = await makeTenant();
    await addMember(db(), CLI_ACTOR, other.id, { email: user.email, role: "owner" });
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    const [h, p, s] = token.split(".") as [string, string, string];
    const payload = decode(p);
    const reencode = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o)).toString("base64url");

    expect(await verifyAccessToken(`${h}.${reencode({ ...payload, tid: other.id })}.${s}`)).toBeNull();
    expect(await verifyAccessToken(`${h}.${reencode({ ...payload, sub: colleague.user.id })}.${s}`)).toBeNull();
    expect(await verifyAccessToken(`${h}.${reencode({ ...payload, exp: (payload.exp as number) + 3600 })}.${s}`)).toBeNull();
    expect(await verifyAccessToken((await mintAccessToken({ userId: user.id, tenantId: other.id })).token)).not.toBeNull();
    const flipped = s.slice(0, -2) + (s.endsWith("AA") ? "AB" : "AA");
    expect(await verifyAccessToken(`${h}.${p}.${flipped}`)).toBeNull();
    expect(await verifyAccessToken(`${reencode({ alg: "none", typ: "JWT" })}.${p}.`)).toBeNull();
    expect(await verifyAccessToken(`${h}.${p}`)).toBeNull();
    expect(await verifyAccessToken(token)).not.toBeNull(); // the untouched token is fine
  });

  it("a viewer (may read the console, not run inference)", async () => {
    const { tenant, user } = await tenantWithMember("viewer");
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    expect(await verifyAccessToken(token)).toBeNull();
  });

  it("someone who is not a member of the token's tenant", async () => {
    const { user } = await tenantWithMember("owner");
    const elsewhere = await makeTenant();
    const { token } = await mintAccessToken({ userId: user.id, tenantId: elsewhere.id });
    expect(await verifyAccessToken(token)).toBeNull();
  });

  it("a disabled user, or one that no longer exists", async () => {
    const { tenant, user } = await tenantWithMember("member");
    await db().user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    expect(await verifyAccessToken(token)).toBeNull();
    const ghost = await mintAccessToken({ userId: "usr_doesnotexist", tenantId: tenant.id });
    expect(await verifyAccessToken(ghost.token)).toBeNull();
  });

  it("removing the membership ends a token within 1 s", async () => {
    const { tenant, user } = await tenantWithMember("member");
    const membership = await db().membership.findFirstOrThrow({ where: { tenantId: tenant.id, userId: user.id } });
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    expect(await verifyAccessToken(token)).not.toBeNull(); // cached now
    await removeMember(db(), CLI_ACTOR, tenant.id, { membershipId: membership.id });
    const t0 = Date.now();
    await vi.waitFor(async () => expect(await verifyAccessToken(token)).toBeNull(), { timeout: 1000, interval: 20 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(GRANT_TTL_MS).toBeLessThan(1000);
  });

  it("a token minted from a session ends when the password changes (session version)", async () => {
    const { tenant, user, caller } = await tenantWithMember("member");
    const { token } = await caller.playground.token({ tenantId: tenant.id });
    expect(decode(token.split(".")[1]!)).toMatchObject({ sv: 0 });
    expect(await verifyAccessToken(token)).not.toBeNull();
    await callerFor(user.id).users.changePassword({ currentPassword: TEST_PASSWORD, newPassword: "a brand new passphrase" });
    await vi.waitFor(async () => expect(await verifyAccessToken(token)).toBeNull(), { timeout: 1000, interval: 20 });
  });
});

describe("verifyBearer: one entry point for both kinds", () => {
  it("routes sk- keys to API key verification, JWTs to access tokens, anything else to null", async () => {
    const { tenant, user } = await tenantWithMember("member");
    const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "bearer" });
    const { token } = await mintAccessToken({ userId: user.id, tenantId: tenant.id });
    expect(await verifyBearer(key)).toMatchObject({ kind: "api_key", apiKeyId: apiKey.id, tenantId: tenant.id });
    expect(await verifyBearer(token)).toMatchObject({ kind: "access_token", userId: user.id, tenantId: tenant.id });
    expect(await verifyBearer("not-a-credential")).toBeNull();
    expect(await verifyBearer("sk-sy-tooshort")).toBeNull();
  });
});
