/**
 * POST /api/v1/messages and /messages/count_tokens: the gateway core's results and
 * events in Anthropic's shapes. Routing, fallback, limits and accounting are the
 * core's (server/services/gateway); the request mapping is mapping.ts.
 *
 * A stream is `message_start`, a `ping`, then content blocks one at a time —
 * `content_block_start`, its deltas, `content_block_stop`, indexes 0, 1, 2… — then
 * `message_delta` (stop reason, usage) and `message_stop`. The core's events are
 * fragments in OpenAI's style (tool-call pieces by call index, possibly arguments
 * before the name); Blocks turns them into that strict order. A failure after the
 * start is an `error` event (stream.ts, the dialect's streamError).
 */
import "server-only";
import { AppError } from "../../../errors";
import { countPromptTokens, estimatePromptTokens } from "../../../services/gateway/count";
import { prepareGeneration } from "../../../services/gateway/execute";
import { sseResponse } from "../../../services/gateway/stream";
import type { ChoiceResult, GatewayContext, GenerationResult } from "../../../services/gateway/types";
import type { FinishReason, GenerateEvent, ToolCall, Usage } from "../../../inference/types";
import { countRequest, messagesRequest, wantsThinking } from "./mapping";
import type { AnthropicMessage, AnthropicStreamEvent, AnthropicUsage, ContentBlock, CountTokensResult } from "./response-schemas";
import type { CountTokensRequest, MessagesRequest } from "./schemas";

type StopReason = AnthropicMessage["stop_reason"];
type BlockEvent = Extract<AnthropicStreamEvent, { type: "content_block_start" | "content_block_delta" | "content_block_stop" }>;
type Delta = Extract<AnthropicStreamEvent, { type: "content_block_delta" }>["delta"];

/** Idle time after which a stream sends a `ping` (a slow prompt, a model loading, a long tool call). */
const PING_INTERVAL_MS = 5_000;

const messageId = (ctx: GatewayContext) => `msg_${ctx.requestId.replace(/^req_/, "")}`;

/** Anthropic tool-use ids are `toolu_…`; the id is the call's own, so the tool_result pairs with it on the next turn. */
const toolUseId = (id: string, fallback: string) => (id.startsWith("toolu_") ? id : `toolu_${id.replace(/^call_/, "") || fallback}`);

function stopReason(f: FinishReason, stopSequence?: string): StopReason {
  if (stopSequence !== undefined) return "stop_sequence";
  switch (f) {
    case "length":
      return "max_tokens";
    case "tool_calls":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** Anthropic's input_tokens exclude tokens read from the prompt cache (reported beside them). */
function usageJson(u: Usage): AnthropicUsage {
  const cached = u.cachedPromptTokens;
  return {
    input_tokens: Math.max(0, u.promptTokens - (cached ?? 0)),
    output_tokens: u.completionTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached ?? 0,
  };
}

/** The tool's input object; arguments cut short (max_tokens) or not JSON become {} rather than a string the SDKs would mistype. */
function inputOf(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function contentOf(c: ChoiceResult, thinking: boolean, ctx: GatewayContext): ContentBlock[] {
  const out: ContentBlock[] = [];
  if (thinking && c.reasoning) out.push({ type: "thinking", thinking: c.reasoning, signature: "" });
  if (c.text || c.refusal) out.push({ type: "text", text: c.text + (c.refusal ?? "") });
  c.toolCalls.forEach((t: ToolCall, i) =>
    out.push({ type: "tool_use", id: toolUseId(t.id, `${ctx.requestId.replace(/^req_/, "")}_${i}`), name: t.name, input: inputOf(t.arguments) }),
  );
  return out;
}

function messageJson(ctx: GatewayContext, model: string, r: GenerationResult, thinking: boolean): AnthropicMessage {
  const c = r.choices[0]!;
  return {
    id: messageId(ctx),
    type: "message",
    role: "assistant",
    model,
    content: contentOf(c, thinking, ctx),
    stop_reason: stopReason(c.finishReason, c.stopSequence),
    stop_sequence: c.stopSequence ?? null,
    usage: usageJson(r.usage),
  };
}

type Open =
  | { kind: "text" | "thinking"; index: number }
  | { kind: "tool"; index: number; call: number; sent: boolean };

/**
 * Turns the core's events into Anthropic content blocks, one open at a time. A tool call's
 * block opens once its name is known (fragments before that are held back); a fragment of
 * another call closes the open block. Every tool block carries at least one
 * input_json_delta, so a call whose arguments came whole (or empty) is still streamed.
 */
export class Blocks {
  private next = 0;
  private open: Open | null = null;
  /** per call index: what is known before/while its block is open */
  private readonly calls = new Map<number, { id?: string; name?: string; held: string; block: "pending" | "open" | "closed" }>();

  constructor(
    private readonly emit: (data: BlockEvent, event: BlockEvent["type"]) => void,
    private readonly thinking: boolean,
    private readonly idBase: string,
  ) {}

  private close() {
    const o = this.open;
    if (!o) return;
    if (o.kind === "tool" && !o.sent) this.delta(o.index, { type: "input_json_delta", partial_json: "" });
    this.emit({ type: "content_block_stop", index: o.index }, "content_block_stop");
    if (o.kind === "tool") this.calls.get(o.call)!.block = "closed";
    this.open = null;
  }

  private start(block: ContentBlock): number {
    this.close();
    const index = this.next++;
    this.emit({ type: "content_block_start", index, content_block: block }, "content_block_start");
    return index;
  }

  private delta(index: number, delta: Delta) {
    this.emit({ type: "content_block_delta", index, delta }, "content_block_delta");
  }

  private textLike(kind: "text" | "thinking", text: string) {
    if (!text) return;
    if (this.open?.kind !== kind) {
      const index = this.start(kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" });
      this.open = { kind, index };
    }
    this.delta(this.open.index, kind === "text" ? { type: "text_delta", text } : { type: "thinking_delta", thinking: text });
  }

  private openCall(call: number) {
    const c = this.calls.get(call)!;
    const index = this.start({ type: "tool_use", id: toolUseId(c.id ?? "", `${this.idBase}_${call}`), name: c.name!, input: {} });
    c.block = "open";
    this.open = { kind: "tool", index, call, sent: false };
    if (c.held) this.args(c.held);
    c.held = "";
  }

  private args(json: string) {
    const o = this.open as Extract<Open, { kind: "tool" }>;
    if (!json) return;
    o.sent = true;
    this.delta(o.index, { type: "input_json_delta", partial_json: json });
  }

  add(ev: GenerateEvent) {
    if (ev.type === "done" || (ev.choice ?? 0) !== 0) return; // Anthropic has one answer per message
    if (ev.type === "delta" || ev.type === "refusal") this.textLike("text", ev.text);
    else if (ev.type === "reasoning") {
      if (this.thinking) this.textLike("thinking", ev.text);
    } else if (ev.type === "tool_call") {
      let c = this.calls.get(ev.index);
      if (!c) this.calls.set(ev.index, (c = { held: "", block: "pending" }));
      if (ev.id) c.id = ev.id;
      if (ev.name) c.name = ev.name;
      if (c.block === "closed") {
        // Anthropic blocks cannot be reopened: a call's fragments after another call started
        // would be lost, so the stream fails rather than hand the client different arguments.
        if (ev.arguments) {
          throw new AppError("unavailable", `The backend interleaved the arguments of tool call ${ev.index} with another call's, which an Anthropic stream cannot carry; retry without streaming`, {
            code: "interleaved_tool_calls",
          });
        }
        return;
      }
      const isOpen = this.open?.kind === "tool" && this.open.call === ev.index;
      if (isOpen) this.args(ev.arguments ?? "");
      else {
        c.held += ev.arguments ?? "";
        if (c.name) this.openCall(ev.index);
      }
    }
  }

  /** After the generation: calls never opened (no name streamed) from the result, then the last block closed. */
  end(result: GenerationResult) {
    const c0 = result.choices[0]!;
    c0.toolCalls.forEach((t, i) => {
      const c = this.calls.get(i);
      if (c?.block === "closed" || c?.block === "open") return;
      this.calls.set(i, { id: t.id, name: t.name, held: t.arguments, block: "pending" });
      this.openCall(i);
    });
    this.close();
  }
}

function messageStart(ctx: GatewayContext, model: string): AnthropicStreamEvent {
  return {
    type: "message_start",
    message: {
      id: messageId(ctx),
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // the prompt is counted as the engine reads it; message_delta carries the real numbers
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  };
}

export async function messages(ctx: GatewayContext, body: MessagesRequest): Promise<Response> {
  const req = messagesRequest(body);
  const thinking = wantsThinking(body);
  const gen = await prepareGeneration(ctx, req);
  if (!req.stream) {
    const result = await gen.complete();
    return Response.json(messageJson(ctx, body.model, result, thinking), { headers: ctx.headers });
  }
  return sseResponse(ctx, async (raw) => {
    let last = Date.now();
    const emit = (data: AnthropicStreamEvent, event: AnthropicStreamEvent["type"]) => {
      last = Date.now();
      raw(data, event);
    };
    emit(messageStart(ctx, body.model), "message_start");
    emit({ type: "ping" }, "ping");
    const timer = setInterval(() => {
      if (Date.now() - last >= PING_INTERVAL_MS) emit({ type: "ping" }, "ping");
    }, PING_INTERVAL_MS / 5);
    try {
      const blocks = new Blocks(emit, thinking, ctx.requestId.replace(/^req_/, ""));
      const result = await gen.stream((ev) => blocks.add(ev));
      if (ctx.signal.aborted) return;
      blocks.end(result);
      const c = result.choices[0]!;
      emit(
        { type: "message_delta", delta: { stop_reason: stopReason(c.finishReason, c.stopSequence), stop_sequence: c.stopSequence ?? null }, usage: usageJson(result.usage) },
        "message_delta",
      );
      emit({ type: "message_stop" }, "message_stop");
    } finally {
      clearInterval(timer);
    }
  });
}

/** The reservation for a Messages request: the prompt (~4 characters a token, images and tool schemas included) plus max_tokens. */
export const estimateMessages = (body: MessagesRequest): number => estimatePromptTokens(messagesRequest(body), body.max_tokens);

/** POST /messages/count_tokens: exact for local models (their template and tokenizer), estimated for remote ones. */
export async function countTokens(ctx: GatewayContext, body: CountTokensRequest): Promise<Response> {
  const count = await countPromptTokens(ctx, body.model, countRequest(body));
  return Response.json({ input_tokens: count.tokens } satisfies CountTokensResult, { headers: { ...ctx.headers, "x-switchyard-token-count": count.exact ? "exact" : "estimate" } });
}
