/**
 * What a request's forwarded headers may tell us, and when to believe them.
 *
 * `next start` keeps any X-Forwarded-* header a client sends and fills in the
 * missing ones itself (X-Forwarded-Host from the Host header), so in a route
 * handler none of them can be told apart from a forgery. They are believed only
 * when the operator says a reverse proxy in front of us sets them (TRUST_PROXY =
 * the number of proxy hops, 0 = none). Redirects and auth callbacks never use them:
 * those are built from PUBLIC_URL, so a forged Host cannot steer them anywhere.
 */

type HeaderSource = { get(name: string): string | null } | Record<string, unknown>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, unknown>;
  const value = record[name] ?? Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value.join(",") : typeof value === "string" ? value : undefined;
}

function entries(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/** TRUST_PROXY: "false"/"0"/"" → 0 hops, "true" → 1, "N" → N. */
export function parseTrustProxy(value: string | undefined): number | null {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "false" || v === "no" || v === "off") return 0;
  if (v === "true" || v === "yes" || v === "on") return 1;
  return /^\d{1,2}$/.test(v) ? Number(v) : null;
}

/**
 * The caller's IP for sign-in throttling. Each trusted proxy appends the address
 * it saw, so with N trusted hops the client is the Nth entry from the right;
 * anything further left was written by the client. Without a trusted proxy the
 * last entry is the socket address only when the client sent no X-Forwarded-For,
 * so the per-IP limit is a second line there; the per-account limit holds anyway.
 */
export function clientIp(headers: HeaderSource, trustProxy: number): string | null {
  const list = entries(header(headers, "x-forwarded-for"));
  if (list.length === 0) return null;
  return list[Math.max(0, list.length - Math.max(1, trustProxy))] ?? null;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const PREFIX = /^(?:\/[A-Za-z0-9._~-]+)+$/;

/**
 * The public base URL of the app for documents that must name it (the OpenAPI
 * `servers` entry). Untrusted: a relative URL, which the client resolves against
 * the address it used, so it is right without believing any header. Trusted:
 * `proto://host` + X-Forwarded-Prefix (a path a prefix-stripping proxy removed in
 * front of ours) + the base path. Malformed values are ignored, never echoed.
 * The value nearest to us (rightmost) wins: that is the one our own proxy wrote.
 */
export function publicAppUrl(headers: HeaderSource, opts: { trustProxy: number; basePath: string }): string {
  if (opts.trustProxy < 1) return opts.basePath;
  const proto = entries(header(headers, "x-forwarded-proto")).pop()?.toLowerCase();
  const host = entries(header(headers, "x-forwarded-host")).pop();
  const rawPrefix = entries(header(headers, "x-forwarded-prefix")).pop()?.replace(/\/+$/, "");
  const prefix = rawPrefix && PREFIX.test(rawPrefix) ? rawPrefix : "";
  if (!host || !HOST.test(host)) return prefix + opts.basePath;
  const scheme = proto === "https" || proto === "http" ? proto : "http";
  return `${scheme}://${host}${prefix}${opts.basePath}`;
}

/** Forwarded headers a response built by publicAppUrl depends on (for Vary). */
export const FORWARDED_VARY = "X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Prefix";
