/**
 * The gateway core's vocabulary, shared by every wire dialect: the request a
 * dialect maps its JSON to, what a generation produced, the per-request context
 * the pipeline gives a handler (usage draft included), and the dialect hooks the
 * pipeline needs to answer in the dialect's own shapes.
 */
import type { AdmissionReport } from "../../ratelimit/limiter";
import type { Principal } from "../../auth/principal";
import type { AppErrorKind } from "../../errors";
import type { FinishReason, GenerateRequest, ToolCall, Usage } from "../../inference/types";
import type { Exchange } from "../request-bodies/request-bodies";
import type { UsageRecord } from "../usage/types";
import type { RequestTrace } from "../../telemetry/tracing";
import type { Logger } from "../../log/logger";

/** A dialect-neutral generation request: what to run (`model`, an alias or a model name) and how to deliver it. */
export interface GatewayRequest extends Omit<GenerateRequest, "tenantId" | "apiKeyId"> {
  model: string;
  stream: boolean;
}

export interface ChoiceResult {
  index: number;
  text: string;
  refusal: string | null;
  /** what a reasoning model showed of its reasoning; null when nothing */
  reasoning: string | null;
  /** finished calls, in index order */
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** the stop string that ended the choice, when the engine reports it (Anthropic's stop_sequence) */
  stopSequence?: string;
  /** upstream token log probabilities, concatenated across chunks; null when none were sent */
  logprobs: { content: unknown[] | null; refusal: unknown[] | null } | null;
}

export interface GenerationResult {
  /** in index order; at least choice 0 */
  choices: ChoiceResult[];
  usage: Usage;
}

export interface UsageDraft {
  modelRequested: string;
  modelUsed: string | null;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  /** prompt tokens served from a prompt cache (the local KV slot, or upstream's cached_tokens) */
  cachedTokens: number;
  ttftMs: number | null;
  /** answered from the response cache (no model ran; logged with 0 tokens) */
  cached: boolean;
  /** tools the request offered, and tool calls in the answer */
  toolsOffered: number;
  toolCalls: number;
  /** the target that served (or last tried) the request, for its price: see execute.ts */
  served?: { backendId: string | null; model: string };
  /** set when a routing policy (alias) served the request: see execute.ts */
  route?: {
    policyId: string | null;
    backendId: string | null;
    reason: string | null;
    /** the difficulty score (difficulty policies), stored for calibration */
    score: number | null;
    attempts: readonly unknown[] | null;
  };
}

/** A caller-facing error, before a dialect gives it its shape. */
export interface GatewayError {
  status: number;
  kind: AppErrorKind | "internal";
  message: string;
  param: string | null;
  /** machine-readable code; also the usage log's errorCode */
  code: string;
  retryAfter?: number;
}

export interface GatewayContext {
  requestId: string;
  principal: Principal;
  /** aborted when the client goes away */
  signal: AbortSignal;
  abort: (reason?: unknown) => void;
  startedAt: number;
  usage: UsageDraft;
  /** response headers every answer carries (x-request-id, …) */
  headers: Record<string, string>;
  /** the caller's x-session-id header (session affinity of aliases), null without one */
  sessionId: string | null;
  /** the dialect this request speaks (its error shapes) */
  dialect: Dialect;
  /** time spent waiting for engines (a remote upstream, llama.cpp); the rest is the gateway's own (x-switchyard-overhead-ms) */
  timing: { engineMs: number };
  /** a streaming handler calls this and then owns writing the usage record via `finish` */
  deferFinish: () => void;
  /** the request's trace span (null: tracing off); see server/telemetry/tracing.ts */
  trace?: RequestTrace | null;
  /** what the request asked and the answer so far, for body logging (set by execute.ts; see services/request-bodies) */
  exchange?: Exchange;
  /** the request's logger, bound to { requestId, tenant }: every line about this request goes through it */
  readonly log: Logger;
  /** writes the usage record once; later calls are ignored */
  finish: (outcome: { status: UsageRecord["status"]; httpStatus: number; error?: GatewayError | null }) => void;
}

/** What the pipeline and the stream writer need from a wire dialect. */
export interface Dialect {
  /** the JSON body of an error answer */
  errorBody(e: GatewayError, requestId: string): unknown;
  /** the HTTP status to answer with, when the dialect's differs from the gateway's (Anthropic's 529 overload) */
  status?(e: GatewayError): number;
  /** the SSE event that ends a stream that failed after it started */
  streamError(e: GatewayError, requestId: string): { event?: string; data: unknown };
  /** the data of the last event of a stream that completed (OpenAI's `[DONE]`); none when absent */
  streamEnd?: string;
  /** the limiter's report (on an admission, or on a 429 from it) as response headers */
  limitHeaders(report: AdmissionReport): Record<string, string>;
}
