/**
 * The request pipeline wrapped around every public API route, whatever its dialect:
 *
 *   request id → auth (API key or console access token) → tenant, IP allowlist + scope checks
 *   → raw body (size limit) → request signature (keys with signing on) → JSON, zod → limits (RPM/TPM/concurrency/budget, x-ratelimit-*)
 *   → handler → error in the dialect's shape → usage log + limiter settlement + metrics
 *
 * A dialect binds it once (server/api/v1/handler.ts: `v1Route`), and route files are
 * one line: `export const POST = v1Route({...}, handler)`.
 * Every answer carries `x-switchyard-overhead-ms` and `Server-Timing` with the gateway's own
 * time up to the response (headers, for a stream): the handler's time minus the time spent
 * waiting for engines (remote upstreams, llama.cpp) — so users can check it in production.
 * Every request — success, error, cancelled — produces exactly one usage record,
 * written off the request path; streaming handlers hand that duty to the stream
 * (see stream.ts), which writes it when the stream ends, however it ends. The same
 * `finish` settles the request's token reservation with the real count and frees
 * its concurrency slot, and records its metrics.
 * Edit this file to change what every public API request goes through.
 */
import type { z } from "zod";
import { type ApiScope, DENIAL_CODES, type Principal } from "../../auth/principal";
import { bearerToken, verifyBearer } from "../../auth/bearer";
import { ipAllowed } from "../../auth/ip-allowlist";
import { replayCache } from "../../auth/replay-cache";
import { SIGNATURE_HEADER, type SignatureFailure, signedPath, verifySignature } from "../../auth/request-signing";
import { openSigningSecret } from "../../auth/secret-box";
import { clientAddress } from "../../http/client-address";
import { env } from "../../env";
import { AppError } from "../../errors";
import { newId } from "../../lib/ids";
import { type Logger, logger } from "../../log/logger";
import { isDbError, metrics } from "../../metrics/metrics";
import { estimateTokens } from "../../ratelimit/estimate";
import { type Admission, limitReportOf, limiter } from "../../ratelimit/limiter";
import { endRequestSpan } from "./gen-ai";
import { startRequestSpan, withRequestSpan } from "../../telemetry/tracing";
import { captureExchange } from "../request-bodies/request-bodies";
import { priceBook } from "../pricing/price-book";
import { usageWriter } from "../usage/usage-writer";
import type { UsageStatus } from "../usage/types";
import { errorResponse, toGatewayError, zodToGatewayError } from "./errors";
import type { Dialect, GatewayContext, GatewayError, UsageDraft } from "./types";

export interface RouteOptions<S extends z.ZodType | undefined> {
  endpoint: string;
  scope: ApiScope;
  schema?: S;
  /** the tokens to reserve against TPM and budgets (default: estimateTokens for the endpoint) */
  estimate?: (body: S extends z.ZodType ? z.output<S> : undefined) => number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `Authorization: Bearer <key>` (OpenAI clients) or `X-API-Key: <key>` (Anthropic clients):
 * one credential, whichever header carries it; everything after (allowlists, signing,
 * scopes, limits) is the same for both.
 */
function credentialOf(req: Request): string | null {
  const auth = req.headers.get("authorization");
  const bearer = auth ? bearerToken(auth) : null;
  return bearer ?? (req.headers.get("x-api-key")?.trim() || null);
}

async function authenticate(req: Request): Promise<Principal> {
  const credential = credentialOf(req);
  // Missing, malformed, unknown, expired and revoked credentials all get the same answer.
  const fail = () =>
    new AppError(
      "unauthorized",
      credential
        ? "Incorrect API key provided. Check the key, or create a new one in the console."
        : "You didn't provide an API key. Send it as 'Authorization: Bearer sk-…' or 'X-API-Key: sk-…'.",
      { code: "invalid_api_key" },
    );
  if (!credential) throw fail();
  const principal = await verifyBearer(credential);
  if (!principal) throw fail();
  return principal;
}

/** The body's exact bytes (empty when there is none): what a request signature covers. */
async function readRawBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  const tooLarge = () =>
    new AppError("payload_too_large", `Request body is larger than the limit of ${limit} bytes`, { code: "request_too_large" });
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString("utf8");
  if (!text.trim()) throw new AppError("invalid", "The request needs a JSON body", { code: "invalid_json" });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError("invalid", `The body is not valid JSON: ${(e as Error).message}`, { code: "invalid_json" });
  }
}

/** counted in switchyard_auth_denials_total */
const DENIALS = new Set(DENIAL_CODES);

const SIGNATURE_MESSAGES: Record<SignatureFailure, string> = {
  signature_required: "This API key requires signed requests: send an X-Switchyard-Signature header (see the docs on signed requests).",
  signature_invalid: "The X-Switchyard-Signature header is malformed or does not match this request.",
  signature_expired: "The request signature's timestamp is outside the allowed window; sign each request when you send it and check the clock.",
  signature_replayed: "This request signature was already used; sign every request anew.",
};

/** The tenant's and the key's IP allowlists (API keys only; console tokens are bound to a session instead). */
function checkAllowlists(principal: Principal, req: Request, trustProxy: number): void {
  const sec = principal.security;
  if (!sec || (!sec.tenantAllowlist && !sec.keyAllowlist)) return;
  const ip = clientAddress(req.headers, trustProxy);
  if (!ipAllowed(ip, sec.tenantAllowlist) || !ipAllowed(ip, sec.keyAllowlist)) {
    throw new AppError("forbidden", `This API key may not be used from ${ip ?? "an unknown address"}`, { code: "ip_not_allowed" });
  }
}

/** Keys with signing on: the signature over exactly `raw`, then the replay cache. */
async function checkSignature(principal: Principal, req: Request, raw: Buffer): Promise<void> {
  const signing = principal.security?.signing;
  if (!signing || !principal.apiKeyId) return;
  const e = env();
  const now = Date.now();
  const sealed = [signing.current];
  if (signing.previous && signing.previousUntil !== null && signing.previousUntil > now) sealed.push(signing.previous);
  const secrets = sealed.map((s) => openSigningSecret(s, principal.apiKeyId!)).filter((s): s is string => s !== null);
  const fail = (code: SignatureFailure) => new AppError("unauthorized", SIGNATURE_MESSAGES[code], { code });
  const result = verifySignature({
    header: req.headers.get(SIGNATURE_HEADER),
    secrets,
    method: req.method,
    path: signedPath(req.url, e.BASE_PATH),
    body: raw,
    now: Math.floor(now / 1000),
    windowSeconds: e.SIGNATURE_WINDOW_SECONDS,
  });
  if (!result.ok) throw fail(result.code);
  // remembered until the timestamp leaves the window (+1 s for rounding): after that it is expired anyway
  const ttlMs = (result.t + e.SIGNATURE_WINDOW_SECONDS + 1) * 1000 - now;
  if (await replayCache().seen(principal.tenantId, `${principal.apiKeyId}:${result.signature}`, ttlMs)) {
    throw fail("signature_replayed");
  }
}

/** The error with the status the dialect answers it with (what the usage row and metrics record, too). */
function inDialect(dialect: Dialect, ge: GatewayError): GatewayError {
  const status = dialect.status?.(ge) ?? ge.status;
  return status === ge.status ? ge : { ...ge, status };
}

export function gatewayRoute<S extends z.ZodType | undefined>(
  dialect: Dialect,
  opts: RouteOptions<S>,
  handler: (ctx: GatewayContext, body: S extends z.ZodType ? z.output<S> : undefined, req: Request) => Promise<Response>,
) {
  return async function route(req: Request): Promise<Response> {
    const rowId = newId("req");
    const incoming = req.headers.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : rowId;
    const startedAt = Date.now();
    const t0 = performance.now();
    const timing = { engineMs: 0 };
    const controller = new AbortController();
    const onClientGone = () => controller.abort(new AppError("unavailable", "client closed the request", { code: "client_closed" }));
    req.signal?.addEventListener("abort", onClientGone, { once: true });
    const headers: Record<string, string> = { "x-request-id": requestId };
    const rt = startRequestSpan(req, opts.endpoint);

    let principal: Principal | null = null;
    let deferred = false;
    let finished = false;
    const usage: UsageDraft = {
      modelRequested: "",
      modelUsed: null,
      stream: false,
      promptTokens: 0,
      completionTokens: 0,
      cachedTokens: 0,
      ttftMs: null,
      cached: false,
      toolsOffered: 0,
      toolCalls: 0,
    };

    let admission: Admission | null = null;
    let ctxRef: GatewayContext | undefined;
    // made on first use (most requests log nothing at the default level), after auth when it got that far
    let log: Logger | undefined;
    const reqLog = () => (log ??= logger("gateway").child(principal ? { requestId, tenant: principal.tenantSlug } : { requestId }));

    const finish: GatewayContext["finish"] = ({ status, httpStatus, error }) => {
      if (finished) return;
      finished = true;
      req.signal?.removeEventListener("abort", onClientGone);
      const tokens = usage.promptTokens + usage.completionTokens;
      // the cost of what was used (a cancelled stream: the tokens streamed), at the price in force when it started
      const cachedTokens = usage.cachedTokens;
      const { costNano, priceId } = priceBook().cost(usage.served ?? null, new Date(startedAt), {
        promptTokens: usage.promptTokens,
        cachedTokens,
        completionTokens: usage.completionTokens,
        charged: tokens > 0,
        cached: usage.cached,
      });
      admission?.settle(tokens, costNano);
      logOutcome(reqLog, opts.endpoint, status, httpStatus, startedAt, usage, error);
      observe(opts.endpoint, httpStatus, usage, principal?.tenantSlug ?? "", startedAt, costNano);
      const span = { usage, exchange: ctxRef?.exchange, requestId, tenantSlug: principal?.tenantSlug ?? null };
      if (!principal) return endRequestSpan(rt, opts.endpoint, span, { httpStatus, status, error }, null); // unauthenticated requests have no tenant to bill (they are in the metrics)
      usageWriter().record({
        id: rowId,
        requestId,
        tenantId: principal.tenantId,
        apiKeyId: principal.apiKeyId,
        userId: principal.userId,
        endpoint: opts.endpoint,
        modelRequested: usage.modelRequested || "-",
        modelUsed: usage.modelUsed,
        backendId: usage.route?.backendId ?? null,
        policyId: usage.route?.policyId ?? null,
        routeReason: usage.route?.reason ?? null,
        routeScore: usage.route?.score ?? null,
        attempts: usage.route?.attempts ?? null,
        status,
        httpStatus,
        errorCode: error?.code ?? null,
        errorMessage: error ? error.message.slice(0, 500) : null,
        stream: usage.stream,
        cached: usage.cached,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        toolsOffered: usage.toolsOffered,
        toolCalls: usage.toolCalls,
        ttftMs: usage.ttftMs,
        latencyMs: Date.now() - startedAt,
        cachedTokens,
        costNano,
        priceId,
        createdAt: new Date(startedAt),
      });
      const stored = captureExchange({
        rowId,
        tenantId: principal.tenantId,
        apiKeyId: principal.apiKeyId,
        endpoint: opts.endpoint,
        createdAt: new Date(startedAt),
        exchange: ctxRef?.exchange,
        error: error ? { code: error.code, message: error.message } : null,
      });
      endRequestSpan(rt, opts.endpoint, span, { httpStatus, status, error }, stored);
    };

    const fail = (e: unknown) => {
      const limitReport = limitReportOf(e);
      if (limitReport) Object.assign(headers, dialect.limitHeaders(limitReport));
      if (isDbError(e)) metrics().dbErrors.inc({ source: "api" });
      const ge = inDialect(dialect, toGatewayError(e, requestId, reqLog));
      if (DENIALS.has(ge.code)) metrics().authDenials.inc({ reason: ge.code, tenant: principal?.tenantSlug ?? "" });
      finish({ status: controller.signal.aborted ? "cancelled" : "error", httpStatus: ge.status, error: ge });
      return stamp(errorResponse(dialect.errorBody(ge, requestId), ge, headers));
    };
    const stamp = (res: Response) => {
      const engine = timing.engineMs;
      const own = Math.max(0, performance.now() - t0 - engine).toFixed(2);
      try {
        res.headers.set("x-switchyard-overhead-ms", own);
        res.headers.set("server-timing", engine ? `gateway;dur=${own}, engine;dur=${engine.toFixed(2)}` : `gateway;dur=${own}`);
      } catch {
        /* a Response with immutable headers (Response.redirect, a fetched one) goes out as it is */
      }
      return res;
    };

    try {
      principal = await authenticate(req);
      if (principal.tenantStatus !== "active") {
        throw new AppError("forbidden", "This tenant is suspended. Contact your administrator.", { code: "tenant_suspended" });
      }
      checkAllowlists(principal, req, env().TRUST_PROXY);
      if (!principal.scopes.includes(opts.scope)) {
        throw new AppError("forbidden", `This API key does not have the '${opts.scope}' scope`, { code: "insufficient_scope" });
      }
      // the signature covers the exact bytes received, so it is checked before they are parsed
      const rawBody =
        opts.schema || principal.security?.signing ? await readRawBody(req, env().API_MAX_BODY_BYTES) : Buffer.alloc(0);
      await checkSignature(principal, req, rawBody);
      let body: unknown = undefined;
      if (opts.schema) {
        const raw = parseJsonBody(rawBody);
        if (raw && typeof raw === "object" && typeof (raw as { model?: unknown }).model === "string") {
          usage.modelRequested = (raw as { model: string }).model;
        }
        const parsed = opts.schema.safeParse(raw);
        if (!parsed.success) {
          const ge = zodToGatewayError(parsed.error);
          finish({ status: "error", httpStatus: 400, error: ge });
          return stamp(errorResponse(dialect.errorBody(ge, requestId), ge, headers));
        }
        body = parsed.data;
      }
      const estimate = opts.estimate ? opts.estimate(body as never) : estimateTokens(opts.endpoint, body);
      const money = hasSpendBudget(principal);
      if (money) await priceBook().fresh();
      else void priceBook().fresh(); // the row's cost at the end needs the list; nothing to wait for here
      const costEstimate = money ? Number(priceBook().estimate(usage.modelRequested, estimate)) : 0;
      admission = await limiter().admit(principal, { id: rowId, estimate, costEstimate });
      Object.assign(headers, dialect.limitHeaders(admission.report));
      const ctx: GatewayContext = {
        requestId,
        dialect,
        principal,
        signal: controller.signal,
        abort: (reason) => controller.abort(reason),
        startedAt,
        timing,
        usage,
        headers,
        sessionId: req.headers.get("x-session-id")?.trim().slice(0, 256) || null,
        deferFinish: () => (deferred = true),
        finish,
        get log() {
          return reqLog();
        },
        trace: rt,
      };
      ctxRef = ctx;
      const res = await withRequestSpan(rt, () => handler(ctx, body as never, req));
      if (!deferred) finish({ status: "ok", httpStatus: res.status });
      return stamp(res);
    } catch (e) {
      return fail(e);
    }
  };
}

/**
 * One line per request as it ends: 5xx at error (the client saw a generic message; the cause was
 * logged where it was caught), 4xx and a cancelled request (the client left: nothing failed here,
 * whatever status the row records) at info, the rest at debug: the
 * usage log (RequestLog) and the metrics already record every request, so an info line per success
 * would only double the output of a busy gateway. Fields only, nothing serialised from the bodies.
 */
function logOutcome(
  reqLog: () => Logger,
  endpoint: string,
  status: UsageStatus,
  httpStatus: number,
  startedAt: number,
  usage: UsageDraft,
  error: GatewayError | null | undefined,
): void {
  const level = status === "cancelled" ? "info" : httpStatus >= 500 ? "error" : httpStatus >= 400 ? "info" : "debug";
  if (!logger("gateway").isLevelEnabled(level)) return;
  const line = {
    endpoint,
    status: httpStatus,
    ms: Date.now() - startedAt,
    model: usage.modelUsed ?? (usage.modelRequested || undefined),
    stream: usage.stream || undefined,
    code: error?.code ?? undefined,
    reason: httpStatus >= 500 ? error?.message : undefined,
  };
  reqLog()[level](line, status === "cancelled" ? "request cancelled" : httpStatus >= 400 ? "request failed" : "request");
}

function hasSpendBudget(p: Principal): boolean {
  const l = p.limits;
  return (
    l.tenant.monthlySpendBudgetNano != null ||
    l.tenant.dailySpendBudgetNano != null ||
    l.key?.monthlySpendBudgetNano != null ||
    l.key?.dailySpendBudgetNano != null
  );
}

/** Request metrics; the model label is the model that served (never the caller's free text: label cardinality). */
function observe(route: string, httpStatus: number, usage: UsageDraft, tenant: string, startedAt: number, costNano: bigint | null) {
  const m = metrics();
  if (usage.modelUsed) {
    if (costNano === null) m.unpriced.inc({ model: usage.modelUsed, tenant });
    else if (costNano > 0n) m.spend.inc({ model: usage.modelUsed, tenant, currency: env().SPEND_CURRENCY }, Number(costNano) / 1e9);
  }
  const model = usage.modelUsed ?? "";
  const labels = { route, status: String(httpStatus), model, tenant };
  m.requests.inc(labels);
  m.duration.observe(labels, (Date.now() - startedAt) / 1000);
  if (usage.ttftMs !== null) m.ttft.observe({ route, model, tenant }, usage.ttftMs / 1000);
  if (usage.promptTokens) m.tokens.inc({ direction: "in", model, tenant }, usage.promptTokens);
  if (usage.completionTokens) m.tokens.inc({ direction: "out", model, tenant }, usage.completionTokens);
}

