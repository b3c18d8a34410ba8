/**
 * POST /api/v1/chat/completions and POST /api/v1/completions: OpenAI's wire shapes
 * mapped to the gateway core's neutral request, and its events and results back
 * to OpenAI's JSON and chunks. Everything else — routing, fallback, caching,
 * accounting — is the core's (server/services/gateway).
 */
import type { ChatMessage, ContentPart, FinishReason, GenerateEvent, ToolChoice, Usage } from "../../inference/types";
import { prepareGeneration } from "../../services/gateway/execute";
import { sseResponse } from "../../services/gateway/stream";
import type { ChoiceResult, GatewayRequest } from "../../services/gateway/types";
import type { V1Context } from "./handler";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionDelta, ChatCompletionMessage, Completion, Usage as UsageJson } from "./response-schemas";
import { ChatCompletionRequest, CompletionRequest } from "./schemas";

type Common = ChatCompletionRequest | CompletionRequest;
type WireMessage = ChatCompletionRequest["messages"][number];

/** Fields the mapping models; every other field of the body is passed through to remote upstreams. */
const MODELLED = new Set([
  "model", "messages", "prompt", "max_tokens", "temperature", "top_p", "seed", "stop", "stream", "stream_options",
  "presence_penalty", "frequency_penalty", "n", "logit_bias", "logprobs", "top_logprobs", "response_format",
  "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "echo", "suffix", "best_of",
]);

function passthroughOf(body: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(body)) {
    if (MODELLED.has(k) || v === undefined) continue;
    (out ??= {})[k] = v;
  }
  return out;
}

function sampling(body: Common, maxTokens: number | null | undefined) {
  return {
    maxTokens: maxTokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop: body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop],
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    n: body.n ?? undefined,
    logitBias: body.logit_bias ?? undefined,
  };
}

function userParts(content: Extract<WireMessage, { role: "user" }>["content"]): string | ContentPart[] {
  if (typeof content === "string") return content;
  return content.map((p): ContentPart =>
    p.type === "text"
      ? textPart(p)
      : p.type === "image_url"
        ? { type: "image", url: p.image_url.url, ...(p.image_url.detail ? { detail: p.image_url.detail } : {}) }
        : { type: "audio", data: p.input_audio.data, format: p.input_audio.format },
  );
}

const textPart = (p: { text: string; cache_control?: Record<string, unknown> }): ContentPart =>
  p.cache_control ? { type: "text", text: p.text, cacheControl: p.cache_control } : { type: "text", text: p.text };

const textParts = (content: string | { type: "text"; text: string; cache_control?: Record<string, unknown> }[]): string | ContentPart[] =>
  typeof content === "string" ? content : content.map(textPart);

function toMessage(m: WireMessage): ChatMessage {
  const name = m.role !== "tool" && m.name !== undefined ? { name: m.name } : {};
  switch (m.role) {
    case "system":
    case "developer":
      return { role: "system", content: textParts(m.content), ...name };
    case "user":
      return { role: "user", content: userParts(m.content), ...name };
    case "assistant": {
      let content: string | ContentPart[] | null = null;
      let refusal = m.refusal ?? null;
      if (typeof m.content === "string") content = m.content;
      else if (m.content) {
        content = m.content.flatMap((p) => (p.type === "text" ? [textPart(p)] : []));
        const refused = m.content.flatMap((p) => (p.type === "refusal" ? [p.refusal] : [])).join("");
        if (refused) refusal = (refusal ?? "") + refused;
      }
      const toolCalls = m.tool_calls?.length
        ? m.tool_calls.map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments }))
        : m.function_call
          ? [{ id: "", name: m.function_call.name, arguments: m.function_call.arguments }]
          : undefined;
      return { role: "assistant", content, ...name, ...(toolCalls ? { toolCalls } : {}), ...(refusal ? { refusal } : {}) };
    }
    case "tool":
      return { role: "tool", content: textParts(m.content), toolCallId: m.tool_call_id };
    case "function":
      return { role: "tool", content: m.content ?? "", toolCallId: "", name: m.name };
  }
}

function toolChoiceOf(body: ChatCompletionRequest): ToolChoice | undefined {
  const c = body.tool_choice ?? body.function_call;
  if (c == null) return undefined;
  if (typeof c === "string") return c;
  return "function" in c ? { name: c.function.name } : { name: c.name };
}

/** The neutral request for a chat completion body. */
export function chatRequest(body: ChatCompletionRequest): GatewayRequest {
  const rf = body.response_format;
  const legacy = !body.tools?.length && !!body.functions?.length;
  const tools = body.tools?.length ? body.tools.map((t) => t.function) : body.functions?.length ? body.functions : undefined;
  const passthrough = passthroughOf(body);
  return {
    model: body.model,
    stream: !!body.stream,
    mode: "chat",
    messages: body.messages.map(toMessage),
    grammar:
      rf?.type === "json_object"
        ? { type: "json_object" }
        : rf?.type === "json_schema"
          ? { type: "json_schema", schema: rf.json_schema.schema, name: rf.json_schema.name, ...(rf.json_schema.strict != null ? { strict: rf.json_schema.strict } : {}) }
          : undefined,
    ...(tools ? { tools: tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters, ...(t.strict != null ? { strict: t.strict } : {}) })) } : {}),
    toolChoice: toolChoiceOf(body),
    parallelToolCalls: body.parallel_tool_calls ?? undefined,
    legacyFunctions: legacy || undefined,
    logprobs: body.logprobs ?? undefined,
    topLogprobs: body.top_logprobs ?? undefined,
    passthrough,
    ...sampling(body, body.max_completion_tokens ?? body.max_tokens),
  };
}

const completionId = (ctx: V1Context, prefix: string) => `${prefix}-${ctx.requestId.replace(/^req_/, "")}`;

function usageJson(u: Usage): UsageJson {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    ...(u.cachedPromptTokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cachedPromptTokens } } : {}),
  };
}

const wireFinish = (r: FinishReason, legacy: boolean) => (legacy && r === "tool_calls" ? "function_call" : r);

function messageJson(c: ChoiceResult, legacy: boolean): ChatCompletionMessage {
  const calls = c.toolCalls;
  return {
    role: "assistant" as const,
    content: c.text === "" && (calls.length || c.refusal) ? null : c.text,
    refusal: c.refusal,
    ...(c.reasoning !== null ? { reasoning_content: c.reasoning } : {}),
    ...(calls.length && !legacy ? { tool_calls: calls.map((t) => ({ id: t.id, type: "function" as const, function: { name: t.name, arguments: t.arguments } })) } : {}),
    ...(calls.length && legacy ? { function_call: { name: calls[0]!.name, arguments: calls[0]!.arguments } } : {}),
  };
}

export async function chatCompletions(ctx: V1Context, body: ChatCompletionRequest): Promise<Response> {
  const created = Math.floor(Date.now() / 1000);
  const id = completionId(ctx, "chatcmpl");
  const req = chatRequest(body);
  const legacy = !!req.legacyFunctions;
  const gen = await prepareGeneration(ctx, req);

  if (!req.stream) {
    const result = await gen.complete();
    const completion: ChatCompletion = {
      id,
      object: "chat.completion",
      created,
      model: body.model,
      choices: result.choices.map((c) => ({ index: c.index, message: messageJson(c, legacy), logprobs: c.logprobs, finish_reason: wireFinish(c.finishReason, legacy) })),
      usage: usageJson(result.usage),
      system_fingerprint: null,
    };
    return Response.json(completion, { headers: ctx.headers });
  }

  const includeUsage = !!body.stream_options?.include_usage;
  return sseResponse(ctx, async (emit) => {
    type Logprobs = ChatCompletionChunk["choices"][number]["logprobs"];
    type Finish = ChatCompletionChunk["choices"][number]["finish_reason"];
    const chunk = (choice: number, delta: ChatCompletionDelta, finish: Finish, logprobs: Logprobs = null): ChatCompletionChunk => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model,
      system_fingerprint: null,
      choices: [{ index: choice, delta, logprobs, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const opened = new Set<number>();
    const finished = new Set<number>();
    const open = (choice: number) => {
      if (opened.has(choice)) return;
      opened.add(choice);
      emit(chunk(choice, { role: "assistant", content: "" }, null));
    };
    open(0);
    const onEvent = (ev: GenerateEvent) => {
      if (ev.type === "done") return;
      const choice = ev.choice ?? 0;
      open(choice);
      if (ev.type === "delta") {
        if (ev.text) emit(chunk(choice, { content: ev.text }, null));
      } else if (ev.type === "refusal") {
        emit(chunk(choice, { refusal: ev.text }, null));
      } else if (ev.type === "reasoning") {
        emit(chunk(choice, { reasoning_content: ev.text }, null));
      } else if (ev.type === "tool_call") {
        const head = ev.id !== undefined || ev.name !== undefined;
        const fn = { ...(ev.name !== undefined ? { name: ev.name } : {}), ...(ev.arguments !== undefined || head ? { arguments: ev.arguments ?? "" } : {}) };
        emit(
          chunk(
            choice,
            legacy
              ? { function_call: fn }
              : { tool_calls: [{ index: ev.index, ...(ev.id !== undefined ? { id: ev.id } : {}), ...(head ? { type: "function" as const } : {}), function: fn }] },
            null,
          ),
        );
      } else if (ev.type === "logprobs") {
        emit(chunk(choice, {}, null, ev.logprobs));
      } else if (ev.type === "finish") {
        finished.add(choice);
        emit(chunk(choice, {}, wireFinish(ev.finishReason, legacy)));
      }
    };
    const result = await gen.stream(onEvent);
    if (ctx.signal.aborted) return;
    for (const c of result.choices) if (!finished.has(c.index)) emit(chunk(c.index, {}, wireFinish(c.finishReason, legacy)));
    if (includeUsage) {
      const last: ChatCompletionChunk = { id, object: "chat.completion.chunk", created, model: body.model, system_fingerprint: null, choices: [], usage: usageJson(result.usage) };
      emit(last);
    }
  });
}

/** The neutral request for a legacy completion body. */
export function completionRequest(body: CompletionRequest): GatewayRequest {
  return {
    model: body.model,
    stream: !!body.stream,
    mode: "completion",
    prompt: Array.isArray(body.prompt) ? body.prompt[0] : body.prompt,
    passthrough: passthroughOf(body),
    // OpenAI's legacy endpoint defaults to 16 tokens
    ...sampling(body, body.max_tokens ?? 16),
  };
}

export async function completions(ctx: V1Context, body: CompletionRequest): Promise<Response> {
  const created = Math.floor(Date.now() / 1000);
  const id = completionId(ctx, "cmpl");
  const req = completionRequest(body);
  const gen = await prepareGeneration(ctx, req);
  if (!req.stream) {
    const result = await gen.complete();
    const completion: Completion = {
      id,
      object: "text_completion",
      created,
      model: body.model,
      choices: result.choices.map((c) => ({ index: c.index, text: c.text, logprobs: null, finish_reason: c.finishReason })),
      usage: usageJson(result.usage),
    };
    return Response.json(completion, { headers: ctx.headers });
  }
  const includeUsage = !!body.stream_options?.include_usage;
  return sseResponse(ctx, async (emit) => {
    const chunk = (choice: number, text: string, finish: FinishReason | null): Completion => ({
      id,
      object: "text_completion",
      created,
      model: body.model,
      choices: [{ index: choice, text, logprobs: null, finish_reason: finish }],
    });
    const finished = new Set<number>();
    const result = await gen.stream((ev) => {
      if (ev.type === "delta" && ev.text) emit(chunk(ev.choice ?? 0, ev.text, null));
      else if (ev.type === "finish") {
        finished.add(ev.choice);
        emit(chunk(ev.choice, "", ev.finishReason));
      }
    });
    if (ctx.signal.aborted) return;
    for (const c of result.choices) if (!finished.has(c.index)) emit(chunk(c.index, "", c.finishReason));
    if (includeUsage) emit({ id, object: "text_completion", created, model: body.model, choices: [], usage: usageJson(result.usage) } satisfies Completion);
  });
}
