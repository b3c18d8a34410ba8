/**
 * Where to go after signing in: only a path inside this app (no open redirects).
 * Accepts a path without the base path ("/tenants/acme") or an absolute URL on the
 * same origin that includes it (what next-auth puts in ?callbackUrl=).
 */
export function safeCallbackPath(raw: string | undefined | null, basePath: string, origin?: string): string {
  if (!raw) return "/";
  let path = raw;
  if (/^https?:\/\//i.test(raw)) {
    try {
      const u = new URL(raw);
      if (origin && u.origin !== origin) return "/";
      path = u.pathname + u.search;
    } catch {
      return "/";
    }
    if (basePath && (path === basePath || path.startsWith(`${basePath}/`) || path.startsWith(`${basePath}?`))) {
      path = path.slice(basePath.length) || "/";
    }
  }
  if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\")) return "/";
  if (path.startsWith("/signin") || path.startsWith("/api/")) return "/";
  return path;
}
