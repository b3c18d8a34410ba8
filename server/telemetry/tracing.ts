/**
 * OpenTelemetry traces of /api/v1, following the GenAI semantic conventions, with the
 * official JS SDK and its OTLP/HTTP exporter. Off unless OTEL_EXPORTER_OTLP_ENDPOINT
 * (or ..._TRACES_ENDPOINT) is set; when off every function here returns at its first
 * line, so the gateway pays nothing.
 *
 *   chat <model>              SERVER  the request (pipeline.ts); ends when the usage row is written —
 *   │                                 for a stream, when the stream ends
 *   ├─ route <model>          INTERNAL  planning: policy, candidates (execute.ts)
 *   ├─ chat <backend model>   CLIENT  one per attempt, a failed one before a fallback included;
 *   │  │                              server.address of the backend; traceparent sent upstream
 *   │  ├─ queue wait          INTERNAL  a local model's fair queue (fair-queue.ts)
 *   │  └─ local generation    INTERNAL  holding a local model's slot
 *
 * A caller's W3C `traceparent` is the parent of the request span. Attempt spans are
 * made the active context around the engine call, so remote.ts injects their
 * traceparent into the upstream request and fair-queue.ts finds its parent without
 * either knowing about spans. Prompt and answer text go on a span only when body
 * logging stored them — and then the redacted text that was stored.
 */
import {
  type Attributes,
  type Context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  context,
  propagation,
  trace,
} from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { ServerEnv } from "../env";
import { processSlot } from "../runtime/registry";

export interface TracingOptions {
  /** the full traces URL (…/v1/traces) */
  url: string;
  headers?: Record<string, string>;
  serviceName: string;
  sampler?: ServerEnv["OTEL_TRACES_SAMPLER"];
  samplerArg?: number;
  /** how long finished spans wait for company before an export (the SDK's default is 5 s) */
  scheduledDelayMillis?: number;
}

// Started by the instrumentation bundle, used by every route bundle: one per process.
const state = processSlot("telemetry.tracing", () => ({ provider: null as NodeTracerProvider | null, tracer: null as Tracer | null }));

export const tracingEnabled = () => state.get().tracer !== null;

/** The traces URL the environment asks for, or null (tracing off). */
export function tracesUrl(e: Pick<ServerEnv, "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" | "OTEL_SDK_DISABLED">): string | null {
  if (e.OTEL_SDK_DISABLED) return null;
  if (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (e.OTEL_EXPORTER_OTLP_ENDPOINT) return `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, "")}/v1/traces`;
  return null;
}

/** OTEL_EXPORTER_OTLP_HEADERS: "k=v,k2=v2", values URL-encoded (the spec's format). */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (value ?? "").split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function samplerOf(name: TracingOptions["sampler"] = "parentbased_always_on", arg = 1): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(arg);
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(arg) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** Starts exporting (idempotent). From the environment: see `initTracingFromEnv`. */
export function initTracing(opts: TracingOptions): void {
  const s = state.get();
  if (s.provider) return;
  const exporter = new OTLPTraceExporter({ url: opts.url, headers: opts.headers });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }),
    sampler: samplerOf(opts.sampler, opts.samplerArg),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: opts.scheduledDelayMillis ?? 2000 })],
  });
  // the AsyncLocalStorage context manager (the default here) carries the active span across awaits
  provider.register({ propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }) });
  s.provider = provider;
  s.tracer = provider.getTracer("switchyard");
}

/** Tracing as the environment says; false when off. Called once at start-up (server/startup.ts). */
export function initTracingFromEnv(e: ServerEnv): boolean {
  const url = tracesUrl(e);
  if (!url) return false;
  initTracing({
    url,
    headers: parseOtlpHeaders(e.OTEL_EXPORTER_OTLP_HEADERS),
    serviceName: e.OTEL_SERVICE_NAME,
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerArg: e.OTEL_TRACES_SAMPLER_ARG,
  });
  return true;
}

/** Exports every finished span now. */
export async function flushTracing(): Promise<void> {
  await state.get().provider?.forceFlush();
}

/** Flushes and stops; the API's globals are released so a test can start again. */
export async function shutdownTracing(): Promise<void> {
  const s = state.get();
  const p = s.provider;
  s.provider = null;
  s.tracer = null;
  if (!p) return;
  await p.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

// ---- spans of a request ------------------------------------------------------------------------

export interface RequestTrace {
  span: Span;
  /** the context with the request span active: parent of everything the request does */
  ctx: Context;
}

/** gen_ai.operation.name of an endpoint of ours. */
export function operationOf(endpoint: string): string {
  if (endpoint.includes("embeddings")) return "embeddings";
  if (endpoint === "completions") return "text_completion";
  return "chat";
}

/** The request span, child of the caller's traceparent if it sent one; null when tracing is off. */
export function startRequestSpan(req: Request, endpoint: string): RequestTrace | null {
  const tracer = state.get().tracer;
  if (!tracer) return null;
  const carrier: Record<string, string> = {};
  const tp = req.headers.get("traceparent");
  if (tp) carrier.traceparent = tp;
  const ts = req.headers.get("tracestate");
  if (ts) carrier.tracestate = ts;
  const parent = tp ? propagation.extract(context.active(), carrier) : context.active();
  const operation = operationOf(endpoint);
  const span = tracer.startSpan(
    operation,
    {
      kind: SpanKind.SERVER,
      attributes: { "gen_ai.operation.name": operation, "http.request.method": req.method, "http.route": endpoint },
    },
    parent,
  );
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Runs `fn` with the request span active (a no-op wrapper when tracing is off). */
export function withRequestSpan<T>(rt: RequestTrace | null | undefined, fn: () => T): T {
  return rt ? context.with(rt.ctx, fn) : fn();
}

/** A child span of the request (route, attempts); null when tracing is off or the request has no span. */
export function startChildSpan(rt: RequestTrace | null | undefined, name: string, kind: SpanKind, attributes: Attributes): RequestTrace | null {
  const tracer = state.get().tracer;
  if (!tracer || !rt) return null;
  const span = tracer.startSpan(name, { kind, attributes }, rt.ctx);
  return { span, ctx: trace.setSpan(rt.ctx, span) };
}

/** A span under whatever span is active (the attempt around a local model's queue); null when none is. */
export function startActiveChildSpan(name: string, attributes: Attributes): Span | null {
  const tracer = state.get().tracer;
  if (!tracer) return null;
  const active = context.active();
  if (!trace.getSpan(active)) return null;
  return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, active);
}

/** The W3C trace headers of the active span, for an upstream request ({} when there is none). */
export function traceHeaders(): Record<string, string> {
  if (!tracingEnabled()) return {};
  const out: Record<string, string> = {};
  propagation.inject(context.active(), out);
  return out;
}

export function endSpan(rt: RequestTrace | Span | null | undefined, outcome: { error?: unknown; errorType?: string; attributes?: Attributes } = {}): void {
  if (!rt) return;
  const span = "span" in rt ? rt.span : rt;
  if (outcome.attributes) span.setAttributes(outcome.attributes);
  if (outcome.errorType || outcome.error) {
    span.setAttribute("error.type", outcome.errorType ?? "_OTHER");
    if (outcome.error instanceof Error) span.recordException(outcome.error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error instanceof Error ? outcome.error.message.slice(0, 200) : outcome.errorType });
  }
  span.end();
}

/** server.address / server.port of a backend's base URL. */
export function serverAttributes(baseUrl: string): Attributes {
  try {
    const u = new URL(baseUrl);
    return { "server.address": u.hostname, "server.port": Number(u.port || (u.protocol === "https:" ? 443 : 80)) };
  } catch {
    return {};
  }
}

export { SpanKind };
