/**
 * Anthropic's error shape, {"type":"error","error":{"type","message"},"request_id"}:
 * how the gateway's errors look on /api/v1/messages, as JSON answers and as a
 * stream's `error` event. Anthropic streams have no end marker (no `[DONE]`).
 *
 * Overload (a local model's queue is full, or no target is healthy) is 529
 * `overloaded_error`, as Anthropic answers it: the official SDKs retry 529 like any
 * 5xx (and 429), and map it to their OverloadedError, so clients back off the way
 * they do against Anthropic. Everything else keeps the gateway's status.
 */
import type { AppErrorKind } from "../../../errors";
import type { Dialect, GatewayError } from "../../../services/gateway/types";
import type { AnthropicError } from "./response-schemas";
import { rateLimitHeaders } from "../rate-limit-headers";

type ErrorType = AnthropicError["error"]["type"];

const TYPE: Record<AppErrorKind | "internal", ErrorType> = {
  invalid: "invalid_request_error",
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  not_found: "not_found_error",
  conflict: "invalid_request_error",
  payload_too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  unavailable: "api_error",
  internal: "api_error",
};

/** Load, not a fault or the caller's limit: a local model's queue is full, or no target of an alias is healthy. */
const OVERLOADED = new Set(["model_overloaded", "no_healthy_target"]);

const typeOf = (e: GatewayError): ErrorType => (OVERLOADED.has(e.code) ? "overloaded_error" : TYPE[e.kind]);

export function anthropicStatus(e: GatewayError): number {
  return typeOf(e) === "overloaded_error" ? 529 : e.status;
}

export function anthropicErrorBody(e: GatewayError, requestId?: string): AnthropicError {
  return { type: "error", error: { type: typeOf(e), message: e.message }, ...(requestId ? { request_id: requestId } : {}) };
}

export const anthropicDialect: Dialect = {
  errorBody: anthropicErrorBody,
  status: anthropicStatus,
  limitHeaders: rateLimitHeaders,
  streamError: (e, requestId) => ({ event: "error", data: anthropicErrorBody(e, requestId) }),
};
