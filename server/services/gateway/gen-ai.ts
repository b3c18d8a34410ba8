/**
 * The GenAI semantic-convention attributes of a finished /api/v1 request, from what the
 * gateway core already keeps (usage draft, neutral request, assembled answer) — so
 * every dialect gets the same span. See server/telemetry/tracing.ts for the span tree.
 */
import { type Attributes, SpanStatusCode } from "@opentelemetry/api";
import type { GatewayError, UsageDraft } from "./types";
import type { Exchange } from "../request-bodies/request-bodies";
import { type RequestTrace, endSpan, operationOf } from "../../telemetry/tracing";

function requestAttributes(exchange: Exchange | undefined): Attributes {
  const r = exchange?.request as Record<string, unknown> | undefined;
  if (!r) return {};
  const out: Attributes = {};
  const num = (k: string, attr: string) => {
    if (typeof r[k] === "number") out[attr] = r[k];
  };
  num("maxTokens", "gen_ai.request.max_tokens");
  num("temperature", "gen_ai.request.temperature");
  num("topP", "gen_ai.request.top_p");
  num("seed", "gen_ai.request.seed");
  num("frequencyPenalty", "gen_ai.request.frequency_penalty");
  num("presencePenalty", "gen_ai.request.presence_penalty");
  num("n", "gen_ai.request.choice.count");
  if (Array.isArray(r.stop) && r.stop.length) out["gen_ai.request.stop_sequences"] = r.stop as string[];
  return out;
}

/**
 * Ends the request span with what the request did. `stored` is the body-logging write
 * (the redacted document as stored, or null): only then do prompt and answer go on the
 * span, and the span ends (with the time the request ended) once that is known.
 */
export function endRequestSpan(
  rt: RequestTrace | null | undefined,
  endpoint: string,
  ctx: { usage: UsageDraft; exchange?: Exchange; requestId: string; tenantSlug: string | null },
  outcome: { httpStatus: number; status: string; error?: GatewayError | null },
  stored: Promise<string | null> | null,
): void {
  if (!rt) return;
  const { usage } = ctx;
  const operation = operationOf(endpoint);
  const model = usage.modelRequested && usage.modelRequested !== "-" ? usage.modelRequested : null;
  if (model) rt.span.updateName(`${operation} ${model}`);
  let finishReasons: string[] = [];
  try {
    finishReasons = ctx.exchange?.answer()?.choices.map((c) => c.finishReason) ?? [];
  } catch {
    /* no answer */
  }
  const attributes: Attributes = {
    "gen_ai.provider.name": "switchyard",
    ...(model ? { "gen_ai.request.model": model } : {}),
    ...(usage.modelUsed ? { "gen_ai.response.model": usage.modelUsed } : {}),
    "gen_ai.usage.input_tokens": usage.promptTokens,
    "gen_ai.usage.output_tokens": usage.completionTokens,
    ...(finishReasons.length ? { "gen_ai.response.finish_reasons": finishReasons } : {}),
    ...(ctx.exchange && !("input" in ctx.exchange.request) ? { "gen_ai.request.stream": usage.stream } : {}),
    ...requestAttributes(ctx.exchange),
    "http.response.status_code": outcome.httpStatus,
    "switchyard.request_id": ctx.requestId,
    "switchyard.status": outcome.status,
    ...(ctx.tenantSlug ? { "switchyard.tenant": ctx.tenantSlug } : {}),
    ...(usage.cached ? { "switchyard.cached": true } : {}),
    ...(usage.ttftMs !== null ? { "switchyard.ttft_ms": usage.ttftMs } : {}),
    ...(usage.route?.reason ? { "switchyard.route.reason": usage.route.reason } : {}),
  };
  rt.span.setAttributes(attributes);
  // HTTP server semantics: a caller's mistake (4xx) is not a failure of this span
  const failed = outcome.error && (outcome.httpStatus >= 500 || (outcome.status === "error" && usage.stream));
  const finishOutcome = failed ? { errorType: outcome.error!.code } : outcome.error ? { attributes: { "error.type": outcome.error.code } } : {};
  if (!stored) return endSpan(rt, finishOutcome);
  const endedAt = new Date();
  void stored
    .then((body) => {
      if (!body) return;
      const doc = JSON.parse(body) as { request?: { messages?: unknown; prompt?: unknown; input?: unknown }; response?: { choices?: unknown } | null };
      rt.span.setAttribute("gen_ai.input.messages", JSON.stringify(doc.request?.messages ?? doc.request?.prompt ?? doc.request?.input ?? null));
      rt.span.setAttribute("gen_ai.output.messages", JSON.stringify(doc.response?.choices ?? null));
    })
    .catch(() => {})
    .finally(() => {
      const { span } = rt;
      if (finishOutcome.errorType) span.setStatus({ code: SpanStatusCode.ERROR, message: finishOutcome.errorType }).setAttribute("error.type", finishOutcome.errorType);
      else if (finishOutcome.attributes) span.setAttributes(finishOutcome.attributes);
      span.end(endedAt);
    });
}

