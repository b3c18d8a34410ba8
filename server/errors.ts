/**
 * The application's error taxonomy. Services throw these; exactly two places map
 * them to a wire format: server/trpc/init.ts (tRPC codes) and, for /api/v1, the
 * OpenAI error envelope. Anything that is not an AppError is an internal error
 * whose details never leave the server.
 */
export type AppErrorKind =
  | "invalid"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "rate_limited"
  | "unavailable";

export const HTTP_STATUS: Record<AppErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

/**
 * Marks AppErrors across copies of this module: Next evaluates server modules once per
 * bundle (instrumentation, each route), and process-wide singletons made in one bundle
 * (the limiter, the inference pool) throw AppErrors that another bundle's `instanceof`
 * would not recognise — turning a 429 into a 500.
 */
const APP_ERROR = Symbol.for("switchyard.AppError");

export class AppError extends Error {
  readonly [APP_ERROR] = true;
  readonly kind: AppErrorKind;
  /** machine-readable code, e.g. "tenant_suspended", "last_owner" */
  readonly code: string;
  /** the offending input field, when there is one */
  readonly param?: string;
  /** seconds a caller should wait (rate_limited, unavailable) */
  readonly retryAfter?: number;

  constructor(
    kind: AppErrorKind,
    message: string,
    opts: { code?: string; param?: string; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.kind = kind;
    this.code = opts.code ?? kind;
    this.param = opts.param;
    this.retryAfter = opts.retryAfter;
  }

  get status(): number {
    return HTTP_STATUS[this.kind];
  }
}

export const Invalid = (message: string, param?: string, code = "invalid_request") =>
  new AppError("invalid", message, { param, code });
export const Unauthorized = (message = "Authentication required") =>
  new AppError("unauthorized", message, { code: "unauthorized" });
export const Forbidden = (message = "You do not have permission to do this", code = "forbidden") =>
  new AppError("forbidden", message, { code });
export const NotFound = (what: string) =>
  new AppError("not_found", `${what} not found`, { code: "not_found" });
export const Conflict = (message: string, code = "conflict", param?: string) =>
  new AppError("conflict", message, { code, param });
export const RateLimited = (message: string, retryAfter: number, code = "rate_limited") =>
  new AppError("rate_limited", message, { code, retryAfter });
export const Unavailable = (message: string, code = "unavailable", retryAfter?: number) =>
  new AppError("unavailable", message, { code, retryAfter });

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError || (typeof e === "object" && e !== null && (e as { [APP_ERROR]?: unknown })[APP_ERROR] === true);
}

/** Prisma's unique-constraint violation, recognised without importing either generated client. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "P2002";
}
