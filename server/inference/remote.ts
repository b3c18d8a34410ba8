/**
 * A remote OpenAI-compatible backend (llama-server, vLLM, Ollama, OpenAI…) behind
 * the same InferenceEngine interface as the local pool. The neutral request maps
 * back to OpenAI's body (tools, tool history, image/audio parts, n, logit_bias,
 * logprobs and every pass-through field as the caller sent them). A caller who wants
 * the whole answer (`req.whole`) gets it from one non-streaming upstream request; a
 * streaming caller's request streams upstream too, and its SSE is parsed and re-emitted
 * as events — text, refusals, tool-call fragments one for one (same index, id/name
 * where upstream put them), logprobs, per-choice finishes — so every dialect builds its
 * own chunks (our ids, our usage accounting). When upstream sends no usage we count
 * ourselves: one token per content chunk or tool-call fragment (what OpenAI-compatible
 * servers send), characters/4 for a whole answer and for the prompt.
 *
 * Each engine keeps one undici Pool of keep-alive connections to its backend (no
 * per-request agent, TLS or DNS set-up); `close()` lets it finish and closes it.
 *
 * Three timeouts per backend: connect (until response headers), first token, and
 * total. Failures are BackendErrors that say whether another target may be tried
 * (connect errors, timeouts, 429, 5xx) and whether the backend should be marked
 * unhealthy (everything but 429 and the caller's own bad input).
 */
import { Pool } from "undici";
import { AppError } from "../errors";
import { traceHeaders } from "../telemetry/tracing";
import {
  type ChatMessage,
  type Content,
  type EmbedResult,
  type FinishReason,
  type GenerateEvent,
  type GenerateRequest,
  type InferenceEngine,
  type ToolDefinition,
  type Usage,
  contentText,
} from "./types";

export interface RemoteBackendSpec {
  id: string;
  name: string;
  baseUrl: string;
  /** decrypted credential, sent as a bearer token; never logged */
  credential: string | null;
  connectTimeoutMs: number;
  firstTokenTimeoutMs: number;
  totalTimeoutMs: number;
}

export class BackendError extends AppError {
  /** another target may be tried instead (only before the first token reached the caller) */
  readonly retryable: boolean;
  /** the backend itself is failing: circuit-break it until a health check succeeds */
  readonly unhealthy: boolean;
  constructor(message: string, code: string, opts: { retryable: boolean; unhealthy: boolean; kind?: "unavailable" | "invalid" | "rate_limited" }) {
    super(opts.kind ?? "unavailable", message, { code, retryAfter: opts.kind === "invalid" ? undefined : 5 });
    this.retryable = opts.retryable;
    this.unhealthy = opts.unhealthy;
  }
}

export function isBackendError(e: unknown): e is BackendError {
  return e instanceof BackendError;
}

function trimBase(url: string) {
  return url.replace(/\/+$/, "");
}

/** Keep-alive connections per backend and process; requests beyond them queue in the pool. */
export const BACKEND_CONNECTIONS = 256;

/** What the engine reads of an upstream answer (undici's `Dispatcher.ResponseData`, or a test double). */
interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array> & { text(): Promise<string>; dump?(): Promise<void> };
}

/** A short, credential-free description of an upstream error body. */
async function upstreamMessage(res: UpstreamResponse): Promise<string> {
  return messageOf(await res.body.text().catch(() => ""));
}

function messageOf(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === "string" ? j.error : (j.error?.message ?? j.message);
    if (typeof m === "string") return m.slice(0, 200);
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200);
}

/**
 * How OpenAI ("maximum context length is N tokens"), vLLM (the same), llama-server ("exceeds the
 * available context size") and others word a prompt that does not fit the model's context.
 */
const UPSTREAM_CONTEXT_ERROR = /context[_ ](length|size|window)|maximum context|exceeds? the (available )?context|too many tokens/i;

function statusError(spec: RemoteBackendSpec, status: number, message: string): BackendError {
  const what = `backend ${spec.name} answered ${status}${message ? `: ${message}` : ""}`;
  if (status === 429) return new BackendError(what, "backend_rate_limited", { retryable: true, unhealthy: false, kind: "rate_limited" });
  // The caller's own bad input: another backend would refuse it too.
  if (status === 400 || status === 413 || status === 422) {
    // the same code a local model's context check answers with, so clients handle one
    const code = UPSTREAM_CONTEXT_ERROR.test(message) ? "context_length_exceeded" : "backend_rejected_request";
    return new BackendError(what, code, { retryable: false, unhealthy: false, kind: "invalid" });
  }
  return new BackendError(what, "backend_error", { retryable: true, unhealthy: status >= 500 || status === 401 || status === 403 });
}

/**
 * One request's deadlines: an AbortController that the caller's signal, the
 * connect timer, the first-token timer and the total timer all abort, and which
 * remembers which of them fired.
 */
class Deadlines {
  readonly controller = new AbortController();
  timedOut: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private connectTimer: NodeJS.Timeout | null = null;
  private firstTokenTimer: NodeJS.Timeout | null = null;
  private readonly onCallerAbort = () => this.controller.abort();
  constructor(
    private readonly caller: AbortSignal,
    spec: RemoteBackendSpec,
  ) {
    if (caller.aborted) this.controller.abort();
    caller.addEventListener("abort", this.onCallerAbort, { once: true });
    this.connectTimer = this.arm("connect", spec.connectTimeoutMs);
    this.firstTokenTimer = this.arm("first token", spec.firstTokenTimeoutMs);
    this.arm("total", spec.totalTimeoutMs);
  }
  private arm(what: string, ms: number) {
    const t = setTimeout(() => {
      this.timedOut ??= what;
      this.controller.abort();
    }, ms);
    this.timers.push(t);
    return t;
  }
  connected() {
    if (this.connectTimer) clearTimeout(this.connectTimer);
  }
  firstToken() {
    if (this.firstTokenTimer) clearTimeout(this.firstTokenTimer);
  }
  get callerGone() {
    return this.caller.aborted && !this.timedOut;
  }
  dispose() {
    for (const t of this.timers) clearTimeout(t);
    this.caller.removeEventListener("abort", this.onCallerAbort);
  }
}

function failureOf(spec: RemoteBackendSpec, d: Deadlines, e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (d.timedOut) {
    return new BackendError(`backend ${spec.name} timed out (${d.timedOut})`, "backend_timeout", { retryable: true, unhealthy: true });
  }
  const err = e as { code?: string; cause?: { code?: string } };
  const c = err.cause?.code ?? err.code;
  const code = c ? ` (${c})` : "";
  return new BackendError(`backend ${spec.name} is unreachable${code}`, "backend_unreachable", { retryable: true, unhealthy: true });
}

function headersFor(spec: RemoteBackendSpec): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(spec.credential ? { authorization: `Bearer ${spec.credential}` } : {}),
    // W3C traceparent of the attempt span ({} when tracing is off): the upstream's spans join the caller's trace
    ...traceHeaders(),
  };
}

const estimateTokens = (s: string) => Math.ceil(s.length / 4);

/** What the prompt-token estimate counts when upstream reports no usage: text, tool calls and tool schemas. */
function promptTextOf(req: GenerateRequest): string {
  if (req.mode !== "chat") return req.prompt ?? "";
  const parts = (req.messages ?? []).map((m) => contentText(m.content) + (m.role === "assistant" ? (m.toolCalls ?? []).map((t) => t.name + t.arguments).join("") : ""));
  if (req.tools?.length) parts.push(JSON.stringify(req.tools));
  return parts.join("\n");
}

/** The data of one SSE event block (its `data:` lines joined), or "" when it has none. */
function blockData(block: string): string {
  // the common case, one `data: …` line, without splitting
  if (block.startsWith("data: ") && !block.includes("\n")) return block.slice(6);
  return block
    .split(/\r?\n/)
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).replace(/^ /, ""))
    .join("\n");
}

/** Yields the `data:` payloads of an SSE body (a web ReadableStream or a Node stream). */
export async function* sseData(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  // Node's web streams are async iterable (the DOM typings don't say so)
  for await (const value of body as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(value, { stream: true });
    if (buf.includes("\r")) buf = buf.replace(/\r\n/g, "\n");
    let start = 0;
    for (let sep = buf.indexOf("\n\n"); sep !== -1; sep = buf.indexOf("\n\n", start)) {
      const data = blockData(buf.slice(start, sep));
      start = sep + 2;
      if (data) yield data;
    }
    if (start) buf = buf.slice(start);
  }
  const tail = buf.trim();
  if (tail.startsWith("data:")) yield tail.slice(5).trim();
}

/** One tool-call fragment as OpenAI-compatible servers stream it. */
interface UpstreamToolCallDelta {
  index?: number;
  id?: string | null;
  type?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

interface UpstreamChoice {
  index?: number;
  delta?: {
    content?: string | null;
    refusal?: string | null;
    reasoning_content?: string | null;
    reasoning?: string | null;
    tool_calls?: UpstreamToolCallDelta[] | null;
    function_call?: { name?: string | null; arguments?: string | null } | null;
  } | null;
  /** a server that ignored `stream: true` sends whole messages */
  message?: {
    content?: string | null;
    refusal?: string | null;
    reasoning_content?: string | null;
    reasoning?: string | null;
    tool_calls?: (UpstreamToolCallDelta & { function?: { name?: string; arguments?: string } })[] | null;
    function_call?: { name?: string | null; arguments?: string | null } | null;
  } | null;
  text?: string | null;
  logprobs?: { content?: unknown[] | null; refusal?: unknown[] | null } | null;
  finish_reason?: string | null;
}

interface UpstreamChunk {
  choices?: UpstreamChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: { message?: string } | string;
}

function finishReasonOf(r: string): FinishReason {
  if (r === "length") return "length";
  if (r === "tool_calls" || r === "function_call") return "tool_calls";
  if (r === "content_filter") return "content_filter";
  return "stop";
}

/** Message content in OpenAI's shape: strings stay strings, parts become OpenAI's part objects. */
function openaiContent(c: Content | null): unknown {
  if (c === null || typeof c === "string") return c;
  return c.map((p) =>
    p.type === "text"
      ? { type: "text", text: p.text, ...(p.cacheControl ? { cache_control: p.cacheControl } : {}) }
      : p.type === "image"
        ? { type: "image_url", image_url: { url: p.url, ...(p.detail ? { detail: p.detail } : {}) } }
        : { type: "input_audio", input_audio: { data: p.data, format: p.format } },
  );
}

/** The conversation as OpenAI-compatible servers take it (the legacy function shape when the caller used it). */
export function openaiMessages(messages: readonly ChatMessage[], legacy: boolean): unknown[] {
  return messages.map((m) => {
    const name = m.name !== undefined ? { name: m.name } : {};
    if (m.role === "tool") {
      return legacy ? { role: "function", name: m.name ?? "", content: contentText(m.content) } : { role: "tool", tool_call_id: m.toolCallId, content: openaiContent(m.content) };
    }
    if (m.role === "assistant") {
      const calls = m.toolCalls?.length ? m.toolCalls : null;
      return {
        role: "assistant",
        content: openaiContent(m.content),
        ...name,
        ...(m.refusal ? { refusal: m.refusal } : {}),
        ...(calls && legacy ? { function_call: { name: calls[0]!.name, arguments: calls[0]!.arguments } } : {}),
        ...(calls && !legacy ? { tool_calls: calls.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } })) } : {}),
      };
    }
    return { role: m.role, content: openaiContent(m.content), ...name };
  });
}

/** The request body for an OpenAI-compatible upstream. Pass-through fields first: what we model wins. */
export function openaiBody(model: string, req: GenerateRequest): Record<string, unknown> {
  const g = req.grammar;
  const rf =
    g?.type === "json_object"
      ? { type: "json_object" }
      : g?.type === "json_schema"
        ? { type: "json_schema", json_schema: { name: g.name ?? "response", schema: g.schema, ...(g.strict != null ? { strict: g.strict } : {}) } }
        : undefined;
  const legacy = !!req.legacyFunctions;
  const tools = req.tools?.length ? req.tools : undefined;
  const fn = (t: ToolDefinition) => ({
    name: t.name,
    ...(t.description !== undefined ? { description: t.description } : {}),
    ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
    ...(t.strict != null && !legacy ? { strict: t.strict } : {}),
  });
  const choice = req.toolChoice;
  const toolChoice = choice === undefined ? undefined : typeof choice === "string" ? choice : legacy ? { name: choice.name } : { type: "function", function: { name: choice.name } };
  const body: Record<string, unknown> = {
    ...req.passthrough,
    model,
    ...(req.mode === "chat" ? { messages: openaiMessages(req.messages ?? [], legacy) } : { prompt: req.prompt }),
    // a caller who wants the whole answer gets it in one upstream answer: no SSE round trip
    ...(req.whole
      ? { stream: undefined, stream_options: undefined }
      : { stream: true, stream_options: { ...((req.passthrough?.stream_options as object | undefined) ?? {}), include_usage: true } }),
    // reasoning models refuse max_tokens: a caller's max_completion_tokens goes through as it is
    max_tokens: req.passthrough?.max_completion_tokens != null ? undefined : req.maxTokens,
    temperature: req.temperature,
    top_p: req.topP,
    seed: req.seed,
    stop: req.stop,
    frequency_penalty: req.frequencyPenalty,
    presence_penalty: req.presencePenalty,
    response_format: rf,
    n: req.n,
    logit_bias: req.logitBias,
    logprobs: req.logprobs,
    top_logprobs: req.topLogprobs,
  };
  if (tools && legacy) {
    body.functions = tools.map(fn);
    body.function_call = toolChoice;
  } else if (tools) {
    body.tools = tools.map((t) => ({ type: "function", function: fn(t) }));
    body.tool_choice = toolChoice;
    body.parallel_tool_calls = req.parallelToolCalls;
  }
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}

export class RemoteEngine implements InferenceEngine {
  private pool: Pool | null = null;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;

  constructor(readonly spec: RemoteBackendSpec) {
    const url = new URL(trimBase(spec.baseUrl));
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.headers = { "content-type": "application/json", accept: "application/json, text/event-stream", ...(spec.credential ? { authorization: `Bearer ${spec.credential}` } : {}) };
  }

  /** Lets requests in flight finish, then closes the pool's connections. */
  close(): void {
    const p = this.pool;
    this.pool = null;
    void p?.close().catch(() => {});
  }

  private request(method: "GET" | "POST", path: string, body: unknown, signal: AbortSignal): Promise<UpstreamResponse> {
    this.pool ??= new Pool(this.origin, {
      connections: BACKEND_CONNECTIONS,
      keepAliveTimeout: 30_000,
      // our own deadlines (Deadlines) govern every phase; undici's would cut long generations
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: this.spec.connectTimeoutMs },
    });
    return this.pool.request({
      method,
      path: this.basePath + path,
      // the fixed headers, plus the attempt span's traceparent, which is per request
      headers: { ...this.headers, ...traceHeaders() },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    }) as Promise<UpstreamResponse>;
  }

  async *generate(model: string, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    const d = new Deadlines(signal, this.spec);
    const path = req.mode === "chat" ? "/chat/completions" : "/completions";
    try {
      let res: UpstreamResponse;
      try {
        res = await this.request("POST", path, openaiBody(model, req), d.controller.signal);
      } catch (e) {
        if (d.callerGone) return;
        throw failureOf(this.spec, d, e);
      }
      d.connected();
      if (res.statusCode < 200 || res.statusCode > 299) throw statusError(this.spec, res.statusCode, await upstreamMessage(res));

      let completionTokens = 0;
      let finishReason: FinishReason = "stop";
      let usage: Usage | null = null;
      const contentType = res.headers["content-type"];
      const isJson = String(contentType ?? "").includes("application/json");
      const body = res.body;
      // A whole answer (asked for, or from a server that ignores `stream: true`) is one JSON object: a single chunk.
      const payloads: AsyncIterable<string> = isJson
        ? (async function* () {
            yield await body.text();
          })()
        : sseData(body);
      // characters/4 for the text of a whole answer; a streamed chunk is about one token
      const tokensOf = (text: string) => (isJson ? Math.max(1, estimateTokens(text)) : 1);
      try {
        for await (const data of payloads) {
          if (data === "[DONE]") break;
          let chunk: UpstreamChunk;
          try {
            chunk = JSON.parse(data) as UpstreamChunk;
          } catch {
            throw new BackendError(`backend ${this.spec.name} sent a malformed event`, "backend_bad_response", { retryable: true, unhealthy: true });
          }
          if (chunk.error) {
            const m = typeof chunk.error === "string" ? chunk.error : (chunk.error.message ?? "error");
            throw new BackendError(`backend ${this.spec.name} failed: ${m.slice(0, 200)}`, "backend_error", { retryable: true, unhealthy: false });
          }
          for (const c of chunk.choices ?? []) {
            const choice = typeof c.index === "number" ? c.index : 0;
            const at = choice ? { choice } : {};
            const part = c.delta ?? c.message ?? null;
            const reasoning = part?.reasoning_content ?? part?.reasoning;
            if (typeof reasoning === "string" && reasoning) {
              d.firstToken();
              completionTokens++;
              yield { type: "reasoning", text: reasoning, ...at };
            }
            const text = part?.content ?? c.text ?? "";
            if (text) {
              d.firstToken();
              const tokens = tokensOf(text);
              completionTokens += tokens;
              yield { type: "delta", text, tokens, ...at };
            }
            if (part?.refusal) {
              d.firstToken();
              completionTokens++;
              yield { type: "refusal", text: part.refusal, ...at };
            }
            if (c.logprobs && (c.logprobs.content?.length || c.logprobs.refusal?.length)) yield { type: "logprobs", logprobs: c.logprobs, ...at };
            // Fragments are re-emitted one for one: same index, id/name only where upstream sent them.
            for (const [i, t] of (part?.tool_calls ?? []).entries()) {
              d.firstToken();
              completionTokens++;
              yield {
                type: "tool_call",
                tokens: 1,
                index: typeof t.index === "number" ? t.index : i,
                ...(t.id ? { id: t.id } : {}),
                ...(t.function?.name ? { name: t.function.name } : {}),
                ...(t.function?.arguments ? { arguments: t.function.arguments } : {}),
                ...at,
              };
            }
            const fc = part?.function_call;
            if (fc && (fc.name || fc.arguments)) {
              d.firstToken();
              completionTokens++;
              yield { type: "tool_call", tokens: 1, index: 0, ...(fc.name ? { name: fc.name } : {}), ...(fc.arguments ? { arguments: fc.arguments } : {}), ...at };
            }
            if (c.finish_reason) {
              const r = finishReasonOf(c.finish_reason);
              if (choice === 0) finishReason = r;
              yield { type: "finish", finishReason: r, choice };
            }
          }
          if (chunk.usage && typeof chunk.usage.completion_tokens === "number") {
            const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
            usage = {
              promptTokens: chunk.usage.prompt_tokens ?? 0,
              completionTokens: chunk.usage.completion_tokens,
              ...(typeof cached === "number" ? { cachedPromptTokens: cached } : {}),
            };
          }
        }
      } catch (e) {
        if (d.callerGone) return;
        throw failureOf(this.spec, d, e);
      }
      if (d.callerGone) return;
      yield {
        type: "done",
        finishReason,
        usage: usage ?? { promptTokens: estimateTokens(promptTextOf(req)), completionTokens },
      };
    } finally {
      d.dispose();
    }
  }

  async embed(model: string, inputs: string[], _tenantId: string, signal: AbortSignal): Promise<EmbedResult> {
    const d = new Deadlines(signal, this.spec);
    try {
      const res = await this.request("POST", "/embeddings", { model, input: inputs, encoding_format: "float" }, d.controller.signal);
      d.connected();
      if (res.statusCode < 200 || res.statusCode > 299) throw statusError(this.spec, res.statusCode, await upstreamMessage(res));
      let j: { data?: { index?: number; embedding?: unknown }[]; usage?: { prompt_tokens?: number } };
      try {
        j = JSON.parse(await res.body.text()) as typeof j;
      } catch (e) {
        if (d.controller.signal.aborted) throw e;
        throw new BackendError(`backend ${this.spec.name} sent malformed embeddings`, "backend_bad_response", { retryable: true, unhealthy: true });
      }
      const data = [...(j.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      if (data.length !== inputs.length || data.some((x) => !Array.isArray(x.embedding))) {
        throw new BackendError(`backend ${this.spec.name} sent malformed embeddings`, "backend_bad_response", { retryable: true, unhealthy: true });
      }
      return {
        vectors: data.map((x) => x.embedding as number[]),
        usage: { promptTokens: j.usage?.prompt_tokens ?? inputs.reduce((n, s) => n + estimateTokens(s), 0) },
      };
    } catch (e) {
      // the caller went away: its own reason (the pipeline's client_closed), not the transport's AbortError
      if (d.callerGone) throw signal.reason ?? e;
      throw failureOf(this.spec, d, e);
    } finally {
      d.dispose();
    }
  }
}

/** GET {baseUrl}/models: the model ids the backend serves (also its health check). */
export async function fetchBackendModels(spec: RemoteBackendSpec, signal?: AbortSignal): Promise<string[]> {
  const d = new Deadlines(signal ?? new AbortController().signal, { ...spec, firstTokenTimeoutMs: spec.connectTimeoutMs, totalTimeoutMs: spec.connectTimeoutMs * 2 });
  try {
    const res = await fetch(trimBase(spec.baseUrl) + "/models", { headers: headersFor(spec), signal: d.controller.signal });
    d.connected();
    if (!res.ok) throw statusError(spec, res.status, messageOf(await res.text().catch(() => "")));
    const j = (await res.json()) as { data?: { id?: unknown }[] };
    if (!Array.isArray(j.data)) throw new BackendError(`backend ${spec.name}: /models is not an OpenAI model list`, "backend_bad_response", { retryable: false, unhealthy: true });
    return j.data.map((m) => m.id).filter((id): id is string => typeof id === "string");
  } catch (e) {
    throw failureOf(spec, d, e);
  } finally {
    d.dispose();
  }
}
