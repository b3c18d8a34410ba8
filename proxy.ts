/**
 * Sends signed-out visitors of console pages to the sign-in page, remembering
 * where they were. This is a convenience redirect only: every tRPC procedure and
 * server page checks the session itself.
 */
import { getToken } from "next-auth/jwt";
import { type NextRequest, NextResponse } from "next/server";
import { sessionCookieName } from "./server/auth/cookies";
import { env } from "./server/env";

export async function proxy(req: NextRequest) {
  const e = env();
  const token = await getToken({ req, secret: e.AUTH_SECRET, cookieName: sessionCookieName() });
  if (token) return NextResponse.next();
  let back = req.nextUrl.pathname;
  if (e.BASE_PATH && (back === e.BASE_PATH || back.startsWith(`${e.BASE_PATH}/`))) {
    back = back.slice(e.BASE_PATH.length) || "/";
  }
  back += req.nextUrl.search;
  // The public URL, not Next's internal host: behind a reverse proxy that is what the browser can reach.
  const target = `${e.APP_URL}/signin${back === "/" ? "" : `?callbackUrl=${encodeURIComponent(back)}`}`;
  return NextResponse.redirect(target, 307);
}

export const config = {
  matcher: ["/((?!api/|_next/|signin|docs|metrics|favicon.ico|icon.svg|robots.txt).*)"],
};
