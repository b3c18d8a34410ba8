import { buildOpenApi } from "@/server/api/v1/openapi";
import { env } from "@/server/env";
import { FORWARDED_VARY, publicAppUrl } from "@/server/http/forwarded";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// One document per distinct server URL; bounded so forged headers can't grow it.
const cache = new Map<string, string>();

/**
 * `servers` is relative (`<base>/api/v1`) unless TRUST_PROXY is set, so it is right
 * however the client reached us; behind a trusted proxy it is absolute, from the
 * forwarded proto/host/prefix.
 */
export function GET(req: Request) {
  const { TRUST_PROXY, BASE_PATH } = env();
  const serverUrl = `${publicAppUrl(req.headers, { trustProxy: TRUST_PROXY, basePath: BASE_PATH })}/api/v1`;
  let body = cache.get(serverUrl);
  if (body === undefined) {
    body = JSON.stringify(buildOpenApi(serverUrl));
    if (cache.size >= 32) cache.delete(cache.keys().next().value!);
    cache.set(serverUrl, body);
  }
  const headers: Record<string, string> = { "content-type": "application/json", "cache-control": "public, max-age=300" };
  if (TRUST_PROXY > 0) headers.vary = FORWARDED_VARY;
  return new Response(body, { headers });
}
