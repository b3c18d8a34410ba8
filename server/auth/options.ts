/**
 * next-auth (v4) configuration: email + password, optionally OIDC, JWT sessions.
 *
 * Everything URL-shaped derives from the env module: NEXTAUTH_URL is
 * `<PUBLIC_URL><BASE_PATH>/api/auth` (next-auth v4 reads it from its environment variable; server/env.ts sets it),
 * the sign-in page lives under the base path, and cookies are scoped to it so
 * two apps on one host under different sub-paths don't share sessions.
 * Sessions are JWTs signed with AUTH_SECRET, so they survive restarts; a user's
 * `sessionVersion` (checked on every tRPC call) revokes them when needed.
 */
import "server-only";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { db } from "../db/client";
import { env, setNextAuthUrl } from "../env";
import { clientIp } from "../http/forwarded";
import { authenticate } from "./sign-in";
import { lockedFor, recordFailure, recordSuccess } from "./throttle";
import { logger } from "../log/logger";

export const SESSION_MAX_AGE_S = 7 * 24 * 3600;

export class ThrottledError extends Error {}

let cached: NextAuthOptions | undefined;

export function authOptions(): NextAuthOptions {
  if (cached) return cached;
  const e = env();
  setNextAuthUrl(`${e.APP_URL}/api/auth`);
  const secure = e.APP_URL.startsWith("https://");
  const cookiePath = e.BASE_PATH || "/";
  const prefix = secure ? "__Secure-" : "";
  const cookie = (name: string, httpOnly = true) => ({
    name: `${prefix}switchyard.${name}`,
    options: { httpOnly, sameSite: "lax" as const, path: cookiePath, secure },
  });

  const providers: NextAuthOptions["providers"] = [
    CredentialsProvider({
      id: "credentials",
      name: "Email and password",
      credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
      async authorize(credentials, req) {
        const email = String(credentials?.email ?? "").slice(0, 254);
        const password = String(credentials?.password ?? "").slice(0, 200);
        if (!email || !password) return null;
        const ip = clientIp((req?.headers ?? {}) as Record<string, unknown>, env().TRUST_PROXY);
        const wait = await lockedFor(db(), email, ip);
        if (wait > 0) throw new ThrottledError(`Too many failed sign-ins. Try again in ${Math.ceil(wait / 60)} min.`);
        const user = await authenticate(db(), email, password);
        if (!user) {
          await recordFailure(db(), email, ip);
          return null;
        }
        await recordSuccess(db(), email);
        return { id: user.id, email: user.email, name: user.name, sv: user.sessionVersion };
      },
    }),
  ];

  if (e.OIDC_ENABLED) {
    providers.push({
      id: "oidc",
      name: e.OIDC_NAME,
      type: "oauth",
      wellKnown: `${e.OIDC_ISSUER!.replace(/\/$/, "")}/.well-known/openid-configuration`,
      clientId: e.OIDC_CLIENT_ID,
      clientSecret: e.OIDC_CLIENT_SECRET,
      authorization: { params: { scope: "openid email profile" } },
      idToken: true,
      checks: ["pkce", "state"],
      profile(p: { sub: string; email?: string; name?: string }) {
        return { id: p.sub, email: p.email ?? null, name: p.name ?? null };
      },
    });
  }

  cached = {
    secret: e.AUTH_SECRET,
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_S },
    pages: { signIn: `${e.BASE_PATH}/signin`, error: `${e.BASE_PATH}/signin` },
    providers,
    cookies: {
      sessionToken: cookie("session-token"),
      callbackUrl: cookie("callback-url", false),
      csrfToken: cookie("csrf-token"),
      pkceCodeVerifier: cookie("pkce"),
      state: cookie("state"),
      nonce: cookie("nonce"),
    },
    callbacks: {
      async signIn({ user, account }) {
        if (account?.provider !== "oidc") return true;
        // OIDC signs in existing, enabled users only: by subject, or by email on first use (then linked).
        const sub = account.providerAccountId;
        const found =
          (await db().user.findUnique({ where: { oidcSubject: sub } })) ??
          (user.email ? await db().user.findUnique({ where: { email: user.email.toLowerCase() } }) : null);
        if (!found || found.disabledAt) return false;
        await db().user.update({ where: { id: found.id }, data: { oidcSubject: sub, lastLoginAt: new Date() } });
        (user as { dbId?: string; sv?: number }).dbId = found.id;
        (user as { sv?: number }).sv = found.sessionVersion;
        return true;
      },
      async jwt({ token, user }) {
        if (user) {
          const u = user as { id: string; dbId?: string; sv?: number };
          token.uid = u.dbId ?? u.id;
          token.sv = u.sv ?? 0;
        }
        return token;
      },
      async session({ session, token }) {
        if (session.user) {
          (session.user as { id?: string }).id = token.uid as string;
        }
        (session as { sv?: number }).sv = token.sv as number;
        return session;
      },
      async redirect({ url, baseUrl }) {
        // Only ever redirect within this app (no open redirects).
        if (url.startsWith("/") && !url.startsWith("//")) return `${new URL(baseUrl).origin}${url}`;
        try {
          if (new URL(url).origin === new URL(baseUrl).origin) return url;
        } catch {
          /* not a URL: fall through */
        }
        return baseUrl;
      },
    },
    logger: {
      error(code, metadata) {
        if (code === "CLIENT_FETCH_ERROR") return;
        logger("auth").error(metadata instanceof Error ? `${code} ${metadata.message}` : code);
      },
      warn() {},
      debug() {},
    },
  };
  return cached;
}
