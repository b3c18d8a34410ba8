/**
 * The OpenAI error envelope, {"error":{"message","type","param","code"}}: how the
 * gateway's errors look on /api/v1, in JSON answers and as a stream's last event.
 */
import type { AppErrorKind } from "../../errors";
import type { Dialect, GatewayError } from "../../services/gateway/types";
import type { ErrorEnvelope } from "./response-schemas";
import { rateLimitHeaders } from "./rate-limit-headers";

const TYPE: Record<AppErrorKind | "internal", string> = {
  invalid: "invalid_request_error",
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  not_found: "invalid_request_error",
  conflict: "invalid_request_error",
  payload_too_large: "invalid_request_error",
  rate_limited: "rate_limit_error",
  unavailable: "service_unavailable_error",
  internal: "server_error",
};

export function openaiErrorBody(e: GatewayError): ErrorEnvelope {
  return { error: { message: e.message, type: TYPE[e.kind], param: e.param, code: e.code } };
}

export const openaiDialect: Dialect = {
  errorBody: openaiErrorBody,
  limitHeaders: rateLimitHeaders,
  streamError: (e) => ({ data: openaiErrorBody(e) }),
  streamEnd: "[DONE]",
};
