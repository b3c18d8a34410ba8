/**
 * The caller's IP for sign-in throttling, from X-Forwarded-For (Next sets it to the
 * socket address when the client did not send one). A client that talks to the
 * server directly can forge it, so the per-IP limit is a second line only; the
 * per-account limit is the one that holds. TRUST_PROXY handling (which hops to
 * believe behind a reverse proxy) comes with the proxy deployment work.
 */
export function clientIp(headers: { get(name: string): string | null } | Record<string, unknown>): string | null {
  const raw =
    typeof (headers as { get?: unknown }).get === "function"
      ? (headers as { get(name: string): string | null }).get("x-forwarded-for")
      : ((headers as Record<string, unknown>)["x-forwarded-for"] as string | undefined);
  const last = raw?.split(",").pop()?.trim();
  return last || null;
}
