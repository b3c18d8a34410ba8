/**
 * POST /api/v1/responses, GET/DELETE /api/v1/responses/{id} and GET …/{id}/input_items:
 * OpenAI's Responses API mapped onto the gateway core. Input items (and the
 * previous_response_id chain) become the neutral chat request; the result, or the
 * generation's events as they come, become a `response` object and the semantic
 * stream events (`response.created` … `response.completed`, each with its
 * `sequence_number`). Routing, fallback, limits and usage rows are the core's;
 * stored responses are services/responses.
 */
import "server-only";
import { db } from "../../../db/client";
import { AppError, isAppError } from "../../../errors";
import type { ChatMessage, ContentPart, FinishReason, GenerateEvent, ToolCall, Usage } from "../../../inference/types";
import { newId } from "../../../lib/ids";
import { DEFAULT_CHAT_COMPLETION_ESTIMATE } from "../../../ratelimit/estimate";
import { prepareGeneration } from "../../../services/gateway/execute";
import { type RouteOptions, gatewayRoute } from "../../../services/gateway/pipeline";
import { sseResponse } from "../../../services/gateway/stream";
import type { Dialect, GatewayContext, GatewayError, GatewayRequest, GenerationResult } from "../../../services/gateway/types";
import { deleteResponse, findResponse, saveResponse } from "../../../services/responses/responses";
import { openaiErrorBody } from "../errors";
import type {
  FunctionCallOut,
  MessageOut,
  OutputItem,
  OutputTextPart,
  ReasoningOut,
  RefusalPart,
  ResponseDeleted,
  ResponseInputItems,
  ResponseObject,
  ResponseStreamError,
  ResponseStreamEvent,
  ResponseUsage,
} from "./response-schemas";
import { rateLimitHeaders } from "../rate-limit-headers";
import type { InputItem, ResponsesRequest } from "./schemas";
import type { z } from "zod";

/** `resp_…`, `msg_…`, `fc_…`: OpenAI's prefixes on our time-sortable ids. */
const idOf = (prefix: string) => `${prefix}_${newId("req").slice(4)}`;

// ---- the wire's output items -------------------------------------------------------------

type ItemStatus = MessageOut["status"];
type EventType = ResponseStreamEvent["type"];
/** An event's own fields: what the writer passes besides the type and the sequence number. */
type EventFields<T extends EventType> = Omit<Extract<ResponseStreamEvent, { type: T }>, "type" | "sequence_number">;
type ResponseStatus = ResponseObject["status"];
type Incomplete = ResponseObject["incomplete_details"];

// ---- request → neutral request -----------------------------------------------------------

/** The caller's own items: a string is one user message. */
function ownItems(body: ResponsesRequest): InputItem[] {
  return typeof body.input === "string" ? [{ type: "message", role: "user", content: body.input }] : body.input;
}

/**
 * The input as the model sees it: the stored chain of `previous_response_id` (its input
 * and output items), then this request's. Another tenant's id and an expired one are
 * both "not found" (404), as OpenAI answers an unknown id.
 */
async function resolveInput(ctx: GatewayContext, body: ResponsesRequest, own: InputItem[]): Promise<InputItem[]> {
  if (!body.previous_response_id) return own;
  const prev = await findResponse(db(), ctx.principal.tenantId, body.previous_response_id);
  if (!prev) {
    throw new AppError("not_found", `Previous response with id '${body.previous_response_id}' not found.`, {
      code: "previous_response_not_found",
      param: "previous_response_id",
    });
  }
  return [...(prev.input as InputItem[]), ...(prev.output as InputItem[]), ...own];
}

type MessagePart = Extract<InputItem, { role: string }>["content"] extends infer C ? (C extends (infer P)[] ? P : never) : never;

function partOf(p: MessagePart, where: string, allowImages: boolean): ContentPart {
  if (p.type === "input_image") {
    if (!allowImages) throw new AppError("invalid", `${where}: input_image parts are only allowed in user messages and tool outputs`, { code: "invalid_request", param: where });
    return { type: "image", url: p.image_url, ...(p.detail ? { detail: p.detail } : {}) };
  }
  return { type: "text", text: p.type === "refusal" ? p.refusal : p.text };
}

/** Input items → chat messages: consecutive function calls become one assistant turn, as chat templates expect. */
export function toMessages(items: InputItem[], instructions: string | null | undefined): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (instructions) out.push({ role: "system", content: instructions });
  items.forEach((it, i) => {
    const where = `input.${i}.content`;
    if (it.type === "reasoning") return; // the model's own earlier reasoning; chat templates drop it too
    if (it.type === "function_call") {
      const call: ToolCall = { id: it.call_id, name: it.name, arguments: it.arguments };
      const last = out.at(-1);
      if (last?.role === "assistant") last.toolCalls = [...(last.toolCalls ?? []), call];
      else out.push({ role: "assistant", content: null, toolCalls: [call] });
      return;
    }
    if (it.type === "function_call_output") {
      const content = typeof it.output === "string" ? it.output : it.output.map((p) => partOf(p, `input.${i}.output`, true));
      out.push({ role: "tool", toolCallId: it.call_id, content });
      return;
    }
    const parts = typeof it.content === "string" ? null : it.content;
    switch (it.role) {
      case "system":
      case "developer":
        out.push({ role: "system", content: parts ? parts.map((p) => partOf(p, where, false)) : (it.content as string) });
        return;
      case "user":
        out.push({ role: "user", content: parts ? parts.map((p) => partOf(p, where, true)) : (it.content as string) });
        return;
      case "assistant": {
        if (!parts) {
          out.push({ role: "assistant", content: it.content as string });
          return;
        }
        if (parts.some((p) => p.type === "input_image")) partOf(parts.find((p) => p.type === "input_image")!, where, false);
        const text = parts.flatMap((p) => (p.type === "output_text" || p.type === "input_text" ? [p.text] : [])).join("");
        const refusal = parts.flatMap((p) => (p.type === "refusal" ? [p.refusal] : [])).join("");
        out.push({ role: "assistant", content: text, ...(refusal ? { refusal } : {}) });
        return;
      }
    }
  });
  return out;
}

/** Fields other than these reach remote upstreams as they are (`user`; `reasoning.effort` as `reasoning_effort`). */
function passthroughOf(body: ResponsesRequest): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (body.user !== undefined) out.user = body.user;
  if (body.reasoning?.effort) out.reasoning_effort = body.reasoning.effort;
  return Object.keys(out).length ? out : undefined;
}

export function responsesRequest(body: ResponsesRequest, items: InputItem[]): GatewayRequest {
  const f = body.text?.format;
  const tc = body.tool_choice;
  return {
    model: body.model,
    stream: !!body.stream,
    mode: "chat",
    messages: toMessages(items, body.instructions),
    grammar:
      f?.type === "json_object"
        ? { type: "json_object" }
        : f?.type === "json_schema"
          ? { type: "json_schema", schema: f.schema, name: f.name, ...(f.strict != null ? { strict: f.strict } : {}) }
          : undefined,
    ...(body.tools?.length
      ? {
          tools: body.tools.map((t) => ({
            name: t.name,
            ...(t.description != null ? { description: t.description } : {}),
            ...(t.parameters != null ? { parameters: t.parameters } : {}),
            ...(t.strict != null ? { strict: t.strict } : {}),
          })),
        }
      : {}),
    toolChoice: tc == null ? undefined : typeof tc === "string" ? tc : { name: tc.name },
    parallelToolCalls: body.parallel_tool_calls ?? undefined,
    maxTokens: body.max_output_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    passthrough: passthroughOf(body),
  };
}

/** an image part, as the chat estimate counts it (a 1024×1024 high-detail image) */
const IMAGE_TOKENS = 765;

/**
 * Reserved against TPM and budgets up front, like chat completions: ~4 characters a token,
 * a few per item for the template's markers, an image at a flat rate (not its base64
 * length), plus what may be generated. Settled with the real count afterwards.
 */
export function estimateResponse(body: ResponsesRequest): number {
  let chars = (body.instructions?.length ?? 0) + (body.tools ? JSON.stringify(body.tools).length : 0);
  let images = 0;
  const items = typeof body.input === "string" ? [] : body.input;
  if (typeof body.input === "string") chars += body.input.length;
  const parts = (c: string | { type: string; text?: string; refusal?: string }[]) => {
    if (typeof c === "string") return void (chars += c.length);
    for (const p of c) {
      if (p.type === "input_image") images++;
      else chars += (p.text ?? p.refusal ?? "").length;
    }
  };
  for (const it of items) {
    if (it.type === "function_call") chars += it.name.length + it.arguments.length;
    else if (it.type === "function_call_output") parts(it.output);
    else if (it.type !== "reasoning") parts(it.content);
  }
  return Math.ceil(chars / 4) + 4 * (items.length + 1) + IMAGE_TOKENS * images + (body.max_output_tokens ?? DEFAULT_CHAT_COMPLETION_ESTIMATE);
}

/**
 * The core names chat fields in the errors it raises where a request meets its target
 * (a local model refusing images or a grammar with tools); a Responses caller sent others.
 */
const PARAM_NAMES: Record<string, string> = { messages: "input", response_format: "text.format", max_tokens: "max_output_tokens", tools: "tools" };

async function inResponsesTerms<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isAppError(e) && e.param && PARAM_NAMES[e.param] && PARAM_NAMES[e.param] !== e.param) {
      throw new AppError(e.kind, e.message, { code: e.code, param: PARAM_NAMES[e.param], retryAfter: e.retryAfter, cause: e });
    }
    throw e;
  }
}

// ---- result → response object ------------------------------------------------------------

function usageJson(u: Usage): ResponseUsage {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedPromptTokens ?? 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

function statusOf(r: FinishReason): { status: ResponseStatus; incomplete: Incomplete } {
  if (r === "length") return { status: "incomplete", incomplete: { reason: "max_output_tokens" } };
  if (r === "content_filter") return { status: "incomplete", incomplete: { reason: "content_filter" } };
  return { status: "completed", incomplete: null };
}

interface Envelope {
  id: string;
  createdAt: number;
  body: ResponsesRequest;
}

function responseObject(
  env: Envelope,
  s: { status: ResponseStatus; output: OutputItem[]; usage: Usage | null; error?: { code: string; message: string } | null; incomplete?: Incomplete },
): ResponseObject {
  const b = env.body;
  return {
    id: env.id,
    object: "response",
    created_at: env.createdAt,
    status: s.status,
    background: false,
    error: s.error ?? null,
    incomplete_details: s.incomplete ?? null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model: b.model,
    output: s.output,
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: null },
    store: b.store ?? true,
    temperature: b.temperature ?? null,
    text: { format: b.text?.format ?? { type: "text" } },
    tool_choice: b.tool_choice ?? "auto",
    tools: (b.tools ?? []).map((t) => ({ type: "function", name: t.name, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? null })),
    top_p: b.top_p ?? null,
    truncation: b.truncation ?? "disabled",
    usage: s.usage ? usageJson(s.usage) : null,
    user: b.user ?? null,
    metadata: b.metadata ?? {},
  };
}

/** A whole result's output items: reasoning, the message, then the calls. */
function outputOf(result: GenerationResult, itemStatus: ItemStatus): OutputItem[] {
  const c = result.choices[0]!;
  const out: OutputItem[] = [];
  if (c.reasoning !== null) out.push({ type: "reasoning", id: idOf("rs"), summary: [], content: [{ type: "reasoning_text", text: c.reasoning }] });
  if (c.text !== "" || c.refusal !== null || c.toolCalls.length === 0) {
    const content: MessageOut["content"] = [];
    if (c.text !== "" || c.refusal === null) content.push({ type: "output_text", text: c.text, annotations: [], logprobs: [] });
    if (c.refusal !== null) content.push({ type: "refusal", refusal: c.refusal });
    out.push({ type: "message", id: idOf("msg"), status: itemStatus, role: "assistant", content });
  }
  for (const t of c.toolCalls) {
    out.push({ type: "function_call", id: idOf("fc"), call_id: t.id || idOf("call"), name: t.name, arguments: t.arguments, status: "completed" });
  }
  return out;
}

const ITEM_PREFIX: Record<string, string> = { message: "msg", function_call: "fc", function_call_output: "fco", reasoning: "rs" };

/** Input items as stored and listed: each with an id, as OpenAI lists them. */
function withIds(items: InputItem[]): InputItem[] {
  return items.map((it) => (it.id ? it : { ...it, type: it.type ?? "message", id: idOf(ITEM_PREFIX[it.type ?? "message"] ?? "item") }) as InputItem);
}

async function store(ctx: GatewayContext, env: Envelope, input: InputItem[], response: ResponseObject) {
  if (env.body.store === false) return;
  await saveResponse(db(), {
    id: env.id,
    tenantId: ctx.principal.tenantId,
    apiKeyId: ctx.principal.apiKeyId,
    userId: ctx.principal.userId,
    model: env.body.model,
    input,
    output: response.output,
    response,
  });
}

// ---- the stream --------------------------------------------------------------------------

/**
 * Turns generation events into the Responses stream. Items are numbered in the order
 * they open; a reasoning or message item closes when another kind of output begins
 * (a later text becomes a new message item), while function calls stay open to the
 * end, because upstreams may interleave the fragments of several calls. A call opens
 * once its name is known (some upstreams send arguments before id and name; those are
 * held and sent as the call's first delta).
 */
class ResponseStreamWriter {
  private seq = 0;
  readonly items: OutputItem[] = [];
  private open = new Set<number>();
  private reasoning: number | null = null;
  private message: number | null = null;
  /** the message's current part: its index and type */
  private part: { index: number; type: "output_text" | "refusal" } | null = null;
  private calls = new Map<number, { id?: string; name?: string; pending: string; at: number | null }>();

  constructor(private readonly emit: (data: ResponseStreamEvent, event: string) => void) {}

  /** The next event's data, numbered; for the one the stream writer sends itself (response.failed). */
  event<T extends EventType>(type: T, fields: EventFields<T>): ResponseStreamEvent {
    // TypeScript cannot follow a spread of a generic's fields; the parameter types are the check
    return { type, sequence_number: this.seq++, ...fields } as unknown as ResponseStreamEvent;
  }

  send<T extends EventType>(type: T, fields: EventFields<T>) {
    this.emit(this.event(type, fields), type);
  }

  private add(item: OutputItem): number {
    const at = this.items.length;
    this.items.push(item);
    this.open.add(at);
    this.send("response.output_item.added", { output_index: at, item: structuredClone(item) });
    return at;
  }

  private closeReasoning() {
    if (this.reasoning === null) return;
    const at = this.reasoning;
    this.reasoning = null;
    const item = this.items[at] as ReasoningOut;
    const part = item.content[0]!;
    this.send("response.reasoning_text.done", { item_id: item.id, output_index: at, content_index: 0, text: part.text });
    this.send("response.content_part.done", { item_id: item.id, output_index: at, content_index: 0, part: structuredClone(part) });
    this.done(at);
  }

  private closePart() {
    if (this.message === null || !this.part) return;
    const item = this.items[this.message] as MessageOut;
    const { index, type } = this.part;
    const part = item.content[index]!;
    const ids = { item_id: item.id, output_index: this.message, content_index: index };
    if (type === "output_text") this.send("response.output_text.done", { ...ids, text: (part as OutputTextPart).text, logprobs: [] });
    else this.send("response.refusal.done", { ...ids, refusal: (part as RefusalPart).refusal });
    this.send("response.content_part.done", { ...ids, part: structuredClone(part) });
    this.part = null;
  }

  private closeMessage(status: ItemStatus = "completed") {
    if (this.message === null) return;
    this.closePart();
    const at = this.message;
    this.message = null;
    (this.items[at] as MessageOut).status = status;
    this.done(at);
  }

  private done(at: number) {
    this.open.delete(at);
    this.send("response.output_item.done", { output_index: at, item: structuredClone(this.items[at]!) });
  }

  reasoningDelta(text: string) {
    this.closeMessage();
    if (this.reasoning === null) {
      const id = idOf("rs");
      this.reasoning = this.add({ type: "reasoning", id, summary: [], content: [] });
      (this.items[this.reasoning] as ReasoningOut).content.push({ type: "reasoning_text", text: "" });
      this.send("response.content_part.added", { item_id: id, output_index: this.reasoning, content_index: 0, part: { type: "reasoning_text", text: "" } });
    }
    const item = this.items[this.reasoning] as ReasoningOut;
    item.content[0]!.text += text;
    this.send("response.reasoning_text.delta", { item_id: item.id, output_index: this.reasoning, content_index: 0, delta: text });
  }

  textDelta(text: string, type: "output_text" | "refusal") {
    this.closeReasoning();
    if (this.message === null) this.message = this.add({ type: "message", id: idOf("msg"), status: "in_progress", role: "assistant", content: [] });
    const item = this.items[this.message] as MessageOut;
    if (this.part?.type !== type) {
      this.closePart();
      const part: OutputTextPart | RefusalPart = type === "output_text" ? { type, text: "", annotations: [], logprobs: [] } : { type, refusal: "" };
      item.content.push(part);
      this.part = { index: item.content.length - 1, type };
      this.send("response.content_part.added", { item_id: item.id, output_index: this.message, content_index: this.part.index, part: structuredClone(part) });
    }
    const ids = { item_id: item.id, output_index: this.message, content_index: this.part.index };
    const part = item.content[this.part.index]!;
    if (part.type === "output_text") {
      part.text += text;
      this.send("response.output_text.delta", { ...ids, delta: text, logprobs: [] });
    } else {
      part.refusal += text;
      this.send("response.refusal.delta", { ...ids, delta: text });
    }
  }

  toolCall(ev: Extract<GenerateEvent, { type: "tool_call" }>) {
    this.closeReasoning();
    this.closeMessage();
    let c = this.calls.get(ev.index);
    if (!c) this.calls.set(ev.index, (c = { pending: "", at: null }));
    if (ev.id) c.id ??= ev.id;
    // as the core assembles calls: an upstream that repeats the name does not make it longer
    if (ev.name && c.at === null) c.name = ev.name;
    if (ev.arguments) c.pending += ev.arguments;
    if (c.at === null && c.name) this.openCall(c);
    else if (c.at !== null) this.flushCall(c);
  }

  private openCall(c: { id?: string; name?: string; pending: string; at: number | null }) {
    c.at = this.add({ type: "function_call", id: idOf("fc"), call_id: c.id || idOf("call"), name: c.name ?? "", arguments: "", status: "in_progress" });
    this.flushCall(c);
  }

  private flushCall(c: { pending: string; at: number | null }) {
    if (!c.pending || c.at === null) return;
    const item = this.items[c.at] as FunctionCallOut;
    item.arguments += c.pending;
    this.send("response.function_call_arguments.delta", { item_id: item.id, output_index: c.at, delta: c.pending });
    c.pending = "";
  }

  /** Closes every open item in output order; `status` is the message's (incomplete when cut by max_output_tokens). */
  finish(status: ItemStatus) {
    this.closeReasoning();
    this.closeMessage(status);
    for (const c of [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, v]) => v)) if (c.at === null) this.openCall(c);
    for (const at of [...this.open].sort((a, b) => a - b)) {
      const item = this.items[at] as FunctionCallOut;
      item.status = "completed";
      this.send("response.function_call_arguments.done", { item_id: item.id, output_index: at, name: item.name, arguments: item.arguments });
      this.done(at);
    }
  }
}

// ---- handlers ----------------------------------------------------------------------------

/** OpenAI's codes for a failed response's `error`. */
const FAILED_CODE = (e: GatewayError) => (e.kind === "rate_limited" ? "rate_limit_exceeded" : e.kind === "invalid" ? "invalid_prompt" : "server_error");

/**
 * The error body is OpenAI's envelope. A stream that fails ends with `response.failed`
 * (createResponse passes it to sseResponse per request: it carries the response so far and the next
 * sequence number); this `error` event is only the fallback shape.
 */
export const responsesDialect: Dialect = {
  errorBody: openaiErrorBody,
  limitHeaders: rateLimitHeaders,
  streamError: (e) => ({ event: "error", data: { type: "error", code: e.code, message: e.message, param: e.param, sequence_number: 0 } satisfies ResponseStreamError }),
};

export function responsesRoute<S extends z.ZodType | undefined>(
  opts: RouteOptions<S>,
  handler: (ctx: GatewayContext, body: S extends z.ZodType ? z.output<S> : undefined, req: Request) => Promise<Response>,
) {
  return gatewayRoute(responsesDialect, opts, handler);
}

export async function createResponse(ctx: GatewayContext, body: ResponsesRequest): Promise<Response> {
  const env: Envelope = { id: idOf("resp"), createdAt: Math.floor(Date.now() / 1000), body };
  const own = withIds(ownItems(body));
  const items = await resolveInput(ctx, body, own);
  const req = responsesRequest(body, items);
  const gen = await inResponsesTerms(() => prepareGeneration(ctx, req));

  if (!req.stream) {
    const result = await inResponsesTerms(() => gen.complete());
    const { status, incomplete } = statusOf(result.choices[0]!.finishReason);
    const response = responseObject(env, { status, incomplete, output: outputOf(result, status === "incomplete" ? "incomplete" : "completed"), usage: result.usage });
    await store(ctx, env, items, response);
    return Response.json(response, { headers: ctx.headers });
  }

  let w: ResponseStreamWriter | undefined;
  // a failure after the stream began ends it with `response.failed`: the response so far, with the error
  const streamError: Dialect["streamError"] = (e, requestId) =>
    w
      ? {
          event: "response.failed",
          data: w.event("response.failed", {
            response: responseObject(env, {
              status: "failed",
              output: w.items,
              usage: { promptTokens: ctx.usage.promptTokens, completionTokens: ctx.usage.completionTokens },
              error: { code: FAILED_CODE(e), message: e.message },
            }),
          }),
        }
      : responsesDialect.streamError(e, requestId);
  return sseResponse(
    ctx,
    async (emit) => {
      const writer = new ResponseStreamWriter(emit);
      w = writer;
      const initial = responseObject(env, { status: "in_progress", output: [], usage: null });
      writer.send("response.created", { response: initial });
      writer.send("response.in_progress", { response: initial });
      const result = await gen.stream((ev) => {
        if (ev.type === "delta") {
          if (ev.text) writer.textDelta(ev.text, "output_text");
        } else if (ev.type === "refusal") writer.textDelta(ev.text, "refusal");
        else if (ev.type === "reasoning") writer.reasoningDelta(ev.text);
        else if (ev.type === "tool_call") writer.toolCall(ev);
      });
      if (ctx.signal.aborted) return;
      const { status, incomplete } = statusOf(result.choices[0]!.finishReason);
      writer.finish(status === "incomplete" ? "incomplete" : "completed");
      const response = responseObject(env, { status, incomplete, output: writer.items, usage: result.usage });
      await store(ctx, env, items, response);
      writer.send(status === "completed" ? "response.completed" : "response.incomplete", { response });
    },
    { streamError },
  );
}

function idFrom(req: Request): string {
  const m = /\/responses\/([^/]+)(?:\/input_items)?\/?$/.exec(new URL(req.url).pathname);
  return decodeURIComponent(m?.[1] ?? "");
}

const notFound = (id: string) => new AppError("not_found", `Response with id '${id}' not found.`, { code: "response_not_found" });

export async function getResponse(ctx: GatewayContext, _body: unknown, req: Request): Promise<Response> {
  const id = idFrom(req);
  // replaying a stored response as a stream is for background responses, which this gateway does not run
  if (new URL(req.url).searchParams.get("stream") === "true") {
    throw new AppError("invalid", "stream is not supported when retrieving a stored response", { code: "unsupported_parameter", param: "stream" });
  }
  const r = await findResponse(db(), ctx.principal.tenantId, id);
  if (!r) throw notFound(id);
  ctx.usage.modelRequested = r.model;
  return Response.json(r.response, { headers: ctx.headers });
}

export async function removeResponse(ctx: GatewayContext, _body: unknown, req: Request): Promise<Response> {
  const id = idFrom(req);
  if (!(await deleteResponse(db(), ctx.principal.tenantId, id))) throw notFound(id);
  return Response.json({ id, object: "response.deleted", deleted: true } satisfies ResponseDeleted, { headers: ctx.headers });
}

/** GET …/{id}/input_items: `order` (desc by default, as OpenAI's), `limit` (1–100, default 20), `after` (an item id). */
export async function listInputItems(ctx: GatewayContext, _body: unknown, req: Request): Promise<Response> {
  const id = idFrom(req);
  const r = await findResponse(db(), ctx.principal.tenantId, id);
  if (!r) throw notFound(id);
  const q = new URL(req.url).searchParams;
  const order = q.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw new AppError("invalid", "order must be 'asc' or 'desc'", { code: "invalid_request", param: "order" });
  const limit = q.has("limit") ? Number(q.get("limit")) : 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new AppError("invalid", "limit must be an integer from 1 to 100", { code: "invalid_request", param: "limit" });
  let items = r.input as (InputItem & { id: string })[];
  if (order === "desc") items = [...items].reverse();
  const after = q.get("after");
  if (after) {
    const i = items.findIndex((it) => it.id === after);
    if (i < 0) throw new AppError("invalid", `after: no input item '${after}' in this response`, { code: "invalid_request", param: "after" });
    items = items.slice(i + 1);
  }
  const page = items.slice(0, limit);
  return Response.json(
    { object: "list", data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: items.length > limit } satisfies ResponseInputItems,
    { headers: ctx.headers },
  );
}
