/**
 * Errors as the caller sees them, before a dialect shapes them: AppErrors keep
 * their kind, code and param; a zod failure names its first field; anything else
 * is a 500 whose details stay in the server log (never a stack trace on the wire).
 */
import { ZodError } from "zod";
import { isAppError } from "../../errors";
import type { GatewayError } from "./types";
import { type Logger, logger } from "../../log/logger";

type Issue = ZodError["issues"][number];

/**
 * The issue worth reporting: a union (string-or-parts content, message roles) reports
 * "Invalid input" at its own path; the branch the caller evidently meant — the one that
 * got past the type check — names the real field and problem.
 */
function specific(issue: Issue): Issue {
  if (issue.code !== "invalid_union" || !issue.errors.length) return issue;
  const meant = issue.errors
    .filter((branch) => branch.length && !(branch[0]!.code === "invalid_type" && branch[0]!.path.length === 0))
    .sort((a, b) => b[0]!.path.length - a[0]!.path.length)[0];
  if (!meant) return issue;
  const inner = specific(meant[0]!);
  return { ...inner, path: [...issue.path, ...inner.path] };
}

export function zodToGatewayError(e: ZodError): GatewayError {
  const issue = specific(e.issues[0]!);
  const param = issue.path.length ? issue.path.map(String).join(".") : null;
  const message = param && !issue.message.startsWith(param.split(".")[0]!) ? `${param}: ${issue.message}` : issue.message;
  return { status: 400, kind: "invalid", message, param, code: "invalid_request" };
}

/**
 * `log`: the request's logger (pipeline.ts binds requestId and tenant); an unexpected error is
 * logged there with its stack, and the client gets a generic message with the request id.
 */
export function toGatewayError(e: unknown, requestId: string, log: () => Logger = () => logger("gateway").child({ requestId })): GatewayError {
  if (isAppError(e)) {
    return { status: e.status, kind: e.kind, message: e.message, param: e.param ?? null, code: e.code, retryAfter: e.retryAfter };
  }
  if (e instanceof ZodError) return zodToGatewayError(e);
  log().error({ err: e }, "internal error");
  return {
    status: 500,
    kind: "internal",
    message: `The server had an error while processing your request (request id ${requestId}).`,
    param: null,
    code: "internal_error",
  };
}

export function errorResponse(body: unknown, e: GatewayError, headers: Record<string, string> = {}): Response {
  const h: Record<string, string> = { "content-type": "application/json", ...headers };
  if (e.retryAfter !== undefined) h["retry-after"] = String(Math.max(1, Math.ceil(e.retryAfter)));
  return new Response(JSON.stringify(body), { status: e.status, headers: h });
}
