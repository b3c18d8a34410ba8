/**
 * GET <base>/metrics: the Prometheus text exposition. With METRICS_TOKEN set, the
 * scraper must send `Authorization: Bearer <token>` (compared in constant time);
 * without it the endpoint is open — keep it off the public internet then.
 */
import "server-only";
import { timingSafeEqual } from "node:crypto";
import { bearerToken } from "../auth/bearer";
import { env } from "../env";
import { metrics } from "./metrics";

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function metricsResponse(req: Request): Promise<Response> {
  const token = env().METRICS_TOKEN;
  if (token) {
    const given = bearerToken(req.headers.get("authorization"));
    if (!given || !sameSecret(given, token)) {
      return new Response("metrics need 'Authorization: Bearer <METRICS_TOKEN>'\n", {
        status: 401,
        headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="metrics"' },
      });
    }
  }
  const registry = metrics().registry;
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
}
