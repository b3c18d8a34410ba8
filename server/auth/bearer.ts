/**
 * The /api/v1 credential check: `Authorization: Bearer <token>` where the token is
 * an API key (`sk-…`) or a console access token (a JWT). Returns the Principal, or
 * null for anything that does not verify — the caller answers 401 for null and 403
 * for a principal whose tenant is suspended or whose scopes don't cover the route.
 */
import type { Db } from "../db/client";
import { verifyApiKey } from "./verify-api-key";
import { credentialKind, verifyAccessToken } from "./access-token";
import type { Principal } from "./principal";

/** The token of an `Authorization: Bearer …` header value, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return m ? m[1]! : null;
}

export async function verifyBearer(token: string, opts: { db?: Db } = {}): Promise<Principal | null> {
  switch (credentialKind(token)) {
    case "api_key":
      return verifyApiKey(token, opts);
    case "access_token":
      return verifyAccessToken(token, opts);
    default:
      return null;
  }
}
