/**
 * CSV export links. The console asks a tRPC procedure for an export (where the
 * tenant role is checked and the export audited); it answers with a short-lived
 * signed token that names the tenant, the user and the filter, and the browser
 * downloads <base>/api/usage/export?token=… — a plain GET, so the file streams
 * to disk instead of through JavaScript memory.
 */
import { SignJWT, jwtVerify } from "jose";
import { serverKey } from "../../auth/derived-keys";
import { UsageFilter } from "./schemas";

const AUDIENCE = "switchyard-usage-export";
export const EXPORT_TOKEN_TTL_SECONDS = 120;

export async function mintExportToken(input: { tenantId: string; userId: string; filter: UsageFilter }): Promise<string> {
  return new SignJWT({ tid: input.tenantId, f: input.filter })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("switchyard")
    .setAudience(AUDIENCE)
    .setSubject(input.userId)
    .setIssuedAt()
    .setExpirationTime(`${EXPORT_TOKEN_TTL_SECONDS}s`)
    .sign(serverKey("usageExport"));
}

/** The export a token grants, or null when it is forged, expired or malformed. */
export async function verifyExportToken(token: string): Promise<{ tenantId: string; userId: string; filter: UsageFilter } | null> {
  if (token.length > 4096) return null;
  try {
    const { payload } = await jwtVerify(token, serverKey("usageExport"), { issuer: "switchyard", audience: AUDIENCE, algorithms: ["HS256"] });
    const filter = UsageFilter.safeParse(payload.f ?? {});
    if (typeof payload.tid !== "string" || typeof payload.sub !== "string" || !filter.success) return null;
    return { tenantId: payload.tid, userId: payload.sub, filter: filter.data };
  } catch {
    return null;
  }
}
