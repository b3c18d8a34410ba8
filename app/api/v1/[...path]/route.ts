// Unknown /api/v1 paths answer in the API's error shape rather than with an HTML page:
// Anthropic's under /messages/ (e.g. the Batches API, which Switchyard does not serve), OpenAI's elsewhere.
import type { AnthropicError } from "@/server/api/v1/anthropic/response-schemas";
import type { ErrorEnvelope } from "@/server/api/v1/response-schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function notFound(req: Request) {
  const path = new URL(req.url).pathname;
  const message = `Unknown API route ${req.method} ${path}`;
  if (/\/api\/v1\/messages\//.test(path)) return Response.json({ type: "error", error: { type: "not_found_error", message } } satisfies AnthropicError, { status: 404 });
  return Response.json({ error: { message, type: "invalid_request_error", param: null, code: "unknown_url" } } satisfies ErrorEnvelope, { status: 404 });
}

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
