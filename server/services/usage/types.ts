/**
 * What a /api/v1 request hands to the usage log when it ends (one RequestLog row).
 * Client-safe types only — no I/O here.
 */

export type UsageStatus = "ok" | "error" | "cancelled";

/** Longest errorMessage kept; longer messages are cut (the row is for dashboards, not for stack traces). */
export const ERROR_MESSAGE_MAX = 500;

export interface UsageRecord {
  /** `newId("req")`, made by the caller (the row's primary key; also x-request-id unless the client sent its own). */
  id: string;
  /**
   * The x-request-id returned to the caller: the caller's own when it sent a usable one,
   * else (and by default) the same as `id`. Not unique — callers pick it.
   */
  requestId?: string;
  tenantId: string;
  /** null when the caller used a console session instead of an API key */
  apiKeyId: string | null;
  /** set when the caller used a console session */
  userId: string | null;
  /** e.g. "chat.completions", "embeddings", "models" */
  endpoint: string;
  /** the model name the caller asked for (may be an alias) */
  modelRequested: string;
  /** the model that actually served the request; null when nothing did (auth/validation errors) */
  modelUsed: string | null;
  backendId: string | null;
  status: UsageStatus;
  httpStatus: number;
  errorCode: string | null;
  /** cut to ERROR_MESSAGE_MAX characters by the writer */
  errorMessage: string | null;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  /** prompt tokens a prompt cache served (local KV slot, upstream cached_tokens; priced at the cached-input price); 0 when absent */
  cachedTokens?: number;
  /** time to first token; null when no token was produced or the endpoint doesn't stream */
  ttftMs: number | null;
  latencyMs: number;
  createdAt: Date;
  /** Routing details, when the router made a choice (optional so simple endpoints can leave them out). */
  policyId?: string | null;
  routeReason?: string | null;
  /** the difficulty score the router decided on (difficulty policies): what calibration reads */
  routeScore?: number | null;
  /** the attempts made (fallbacks); stored as JSON, null when there was one */
  attempts?: readonly unknown[] | null;
  cached?: boolean;
  /** tools the request offered (its `tools`, or legacy `functions`); 0 when absent */
  toolsOffered?: number;
  /** tool calls in the answer (all choices); 0 when absent */
  toolCalls?: number;
  /**
   * cost in nano-units of SPEND_CURRENCY, from the price in force at createdAt (the pipeline
   * computes it with the price book); null = unpriced. Absent: 0 when no model served, else unpriced.
   */
  costNano?: bigint | number | null;
  /** the Price row that costed it */
  priceId?: string | null;
}

export interface UsageWriterStats {
  /** records waiting to be written, including a batch being written or retried */
  buffered: number;
  /** rows committed to RequestLog by this writer */
  written: number;
  /** records thrown away because the buffer was full (maxBuffered) — should stay 0 */
  dropped: number;
  /**
   * records the database refused on their own, several times, while it accepted an ordinary
   * row (a bad row, not an outage); each is logged in full as JSON — should stay 0
   */
  rejected: number;
  /** records skipped because a row with the same id was already written or already buffered */
  duplicates: number;
  /** write attempts (one transaction each) that failed and were retried */
  failedFlushes: number;
  lastError: string | null;
}
