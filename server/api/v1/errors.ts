/**
 * The /api/v1 error envelope, OpenAI's shape: {"error":{"message","type","param","code"}}.
 * The one place AppErrors become HTTP answers for the public API; anything else is
 * a 500 whose details stay in the server log.
 */
import { ZodError } from "zod";
import { type AppErrorKind, isAppError } from "../../errors";

const TYPE: Record<AppErrorKind, string> = {
  invalid: "invalid_request_error",
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  not_found: "invalid_request_error",
  conflict: "invalid_request_error",
  payload_too_large: "invalid_request_error",
  rate_limited: "rate_limit_error",
  unavailable: "service_unavailable_error",
};

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface MappedError {
  status: number;
  body: OpenAIErrorBody;
  retryAfter?: number;
  /** short code for the usage log */
  code: string;
}

export function zodToMapped(e: ZodError): MappedError {
  const issue = e.issues[0]!;
  const param = issue.path.length ? issue.path.map(String).join(".") : null;
  const message = param && !issue.message.startsWith(param.split(".")[0]!) ? `${param}: ${issue.message}` : issue.message;
  return {
    status: 400,
    code: "invalid_request",
    body: { error: { message, type: "invalid_request_error", param, code: "invalid_request" } },
  };
}

export function mapError(e: unknown, requestId: string): MappedError {
  if (isAppError(e)) {
    return {
      status: e.status,
      code: e.code,
      retryAfter: e.retryAfter,
      body: { error: { message: e.message, type: TYPE[e.kind], param: e.param ?? null, code: e.code } },
    };
  }
  if (e instanceof ZodError) return zodToMapped(e);
  console.error(`[api/v1] ${requestId} internal error:`, e);
  return {
    status: 500,
    code: "internal_error",
    body: {
      error: {
        message: `The server had an error while processing your request (request id ${requestId}).`,
        type: "server_error",
        param: null,
        code: "internal_error",
      },
    },
  };
}

export function errorResponse(m: MappedError, headers: Record<string, string> = {}): Response {
  const h: Record<string, string> = { "content-type": "application/json", ...headers };
  if (m.retryAfter !== undefined) h["retry-after"] = String(Math.max(1, Math.ceil(m.retryAfter)));
  return new Response(JSON.stringify(m.body), { status: m.status, headers: h });
}
