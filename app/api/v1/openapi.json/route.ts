import { buildOpenApi } from "@/server/api/v1/openapi";
import { env } from "@/server/env";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

let cached: string | undefined;

// The server URL is relative (`<base>/api/v1`), so it is right however the client reached us.
export function GET() {
  cached ??= JSON.stringify(buildOpenApi(`${env().BASE_PATH}/api/v1`));
  return new Response(cached, { headers: { "content-type": "application/json", "cache-control": "public, max-age=300" } });
}
