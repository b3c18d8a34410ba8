/**
 * The caller's IP as seen by our server. `next start` appends the socket address
 * to X-Forwarded-For, so the last entry is the one a client cannot forge; earlier
 * entries are only believable behind a trusted proxy (handled with TRUST_PROXY).
 */
export function clientIp(headers: { get(name: string): string | null } | Record<string, unknown>): string | null {
  const raw =
    typeof (headers as { get?: unknown }).get === "function"
      ? (headers as { get(name: string): string | null }).get("x-forwarded-for")
      : ((headers as Record<string, unknown>)["x-forwarded-for"] as string | undefined);
  const last = raw?.split(",").pop()?.trim();
  return last || null;
}
