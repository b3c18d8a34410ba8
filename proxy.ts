/**
 * Sends signed-out visitors of console pages to the sign-in page, remembering
 * where they were. This is a convenience redirect only: every tRPC procedure and
 * server page checks the session itself.
 */
import { getToken } from "next-auth/jwt";
import { type NextRequest, NextResponse } from "next/server";
import { sessionCookieName } from "./server/auth/options";
import { env } from "./server/env";

export async function proxy(req: NextRequest) {
  const token = await getToken({ req, secret: env().AUTH_SECRET, cookieName: sessionCookieName() });
  if (token) return NextResponse.next();
  // nextUrl.pathname has the base path removed; the sign-in page adds it back when it redirects.
  const back = req.nextUrl.pathname + req.nextUrl.search;
  const url = req.nextUrl.clone();
  url.pathname = "/signin";
  url.search = back === "/" ? "" : `?callbackUrl=${encodeURIComponent(back)}`;
  // A relative Location keeps the browser on the host it used (behind a proxy, Next's own host is internal).
  return new NextResponse(null, {
    status: 307,
    headers: { Location: `${req.nextUrl.basePath}${url.pathname}${url.search}` },
  });
}

export const config = {
  matcher: ["/((?!api/|_next/|signin|favicon.ico|icon.svg|robots.txt).*)"],
};
