/**
 * Short-lived access tokens: how a signed-in console user (the playground) calls
 * /api/v1 without an API key. An HS256 JWT under a key derived from AUTH_SECRET
 * (see derived-keys.ts), valid ACCESS_TOKEN_TTL_SECONDS:
 *
 *   iss "switchyard", aud "switchyard-api", sub <userId>, tid <tenantId>,
 *   sv <sessionVersion> (when minted from a session), iat, exp
 *
 * The signature alone is not enough: verifyAccessToken also asks the database
 * (cached under a second) whether the user still exists, is enabled, is on the same
 * session version, and still holds member or higher in the tenant — so removing
 * someone or disabling them ends their tokens within a second, not in 15 minutes.
 */
import { SignJWT, jwtVerify } from "jose";
import { type Db, type Role, db as defaultDb } from "../db/client";
import { TtlCache } from "../lib/ttl-cache";
import { hasRole } from "./roles";
import { serverKey } from "./derived-keys";
import { API_SCOPES, type LimitSet, type Principal, limitColumns, limitSetOf } from "./principal";

export const ACCESS_TOKEN_ISSUER = "switchyard";
export const ACCESS_TOKEN_AUDIENCE = "switchyard-api";
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** Membership checks are trusted this long (must stay under 1 s). */
export const GRANT_TTL_MS = 750;
const MAX_TOKEN_LENGTH = 4096;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Tells the two kinds of /api/v1 bearer credentials apart without verifying anything. */
export function credentialKind(token: string): "api_key" | "access_token" | null {
  if (token.startsWith("sk-")) return "api_key";
  if (token.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(token)) return "access_token";
  return null;
}

export async function mintAccessToken(
  input: { userId: string; tenantId: string; /** binds the token to the session: a password change ends it */ sessionVersion?: number },
  now: number = Date.now(),
): Promise<{ token: string; expiresAt: Date }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + ACCESS_TOKEN_TTL_SECONDS;
  const claims: Record<string, unknown> = { tid: input.tenantId };
  if (input.sessionVersion !== undefined) claims.sv = input.sessionVersion;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setSubject(input.userId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(serverKey("accessToken"));
  return { token, expiresAt: new Date(exp * 1000) };
}

interface Grant {
  tenantSlug: string;
  tenantStatus: "active" | "suspended";
  sessionVersion: number;
  tenantLimits: LimitSet & { budgetWarnPercent: number | null };
}

/** userId + tenantId → what the database said (null = no access), for GRANT_TTL_MS. */
const grants = new TtlCache<string, Grant | null>({ maxEntries: 10_000, ttlMs: GRANT_TTL_MS });

export function clearAccessTokenCache(): void {
  grants.clear();
}

async function grantFor(db: Db, userId: string, tenantId: string): Promise<Grant | null> {
  const cacheKey = `${userId}\n${tenantId}`;
  const cached = grants.get(cacheKey);
  if (cached !== undefined) return cached;
  const [user, tenant] = await Promise.all([
    db.user.findUnique({ where: { id: userId }, select: { disabledAt: true, isPlatformAdmin: true, sessionVersion: true } }),
    db.tenant.findUnique({
      where: { id: tenantId },
      select: {
        slug: true,
        status: true,
        budgetWarnPercent: true,
        ...limitColumns,
        memberships: { where: { userId }, select: { role: true } },
      },
    }),
  ]);
  let grant: Grant | null = null;
  if (user && !user.disabledAt && tenant) {
    // platform admins act as owners of every tenant, as in the console
    const role: Role | null = user.isPlatformAdmin ? "owner" : (tenant.memberships[0]?.role ?? null);
    if (role && hasRole(role, "member")) {
      grant = {
        tenantSlug: tenant.slug,
        tenantStatus: tenant.status,
        sessionVersion: user.sessionVersion,
        tenantLimits: { ...limitSetOf(tenant), budgetWarnPercent: tenant.budgetWarnPercent },
      };
    }
  }
  grants.set(cacheKey, grant);
  return grant;
}

/**
 * The principal for an access token, or null when it is malformed, badly signed,
 * expired, for another audience or issuer, or its user may no longer use the tenant.
 * Access tokens carry every scope and every model the tenant may use.
 */
export async function verifyAccessToken(token: string, opts: { db?: Db } = {}): Promise<Principal | null> {
  if (credentialKind(token) !== "access_token") return null;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, serverKey("accessToken"), {
      algorithms: ["HS256"],
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      requiredClaims: ["sub", "exp", "tid"],
    }));
  } catch {
    return null;
  }
  const { sub: userId, tid: tenantId, sv } = payload;
  if (typeof userId !== "string" || typeof tenantId !== "string" || !userId || !tenantId) return null;
  if (sv !== undefined && typeof sv !== "number") return null;
  const grant = await grantFor(opts.db ?? defaultDb(), userId, tenantId);
  if (!grant) return null;
  if (sv !== undefined && sv !== grant.sessionVersion) return null;
  return {
    kind: "access_token",
    tenantId,
    tenantSlug: grant.tenantSlug,
    tenantStatus: grant.tenantStatus,
    apiKeyId: null,
    userId,
    scopes: [...API_SCOPES],
    models: null,
    limits: { tenant: { ...grant.tenantLimits }, key: null },
  };
}
