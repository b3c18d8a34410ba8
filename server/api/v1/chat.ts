/** POST /api/v1/chat/completions and POST /api/v1/completions. */
import type { FinishReason, GenerateRequest } from "../../inference/types";
import type { RoutePlan } from "../../services/routing/routing";
import type { V1Context } from "./handler";
import { generateRouted, planRequest } from "./routed";
import { type ChatCompletionRequest, type CompletionRequest, contentText } from "./schemas";
import { cachedAnswer, responseCacheKey, storeAnswer } from "./response-cache";
import { sseResponse } from "./sse";

type Common = ChatCompletionRequest | CompletionRequest;

function generationParams(body: Common, maxTokens: number | null | undefined) {
  return {
    maxTokens: maxTokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop: body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop],
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
  };
}

function completionId(ctx: V1Context, prefix: string) {
  return `${prefix}-${ctx.requestId.replace(/^req_/, "")}`;
}

interface Generated {
  text: string;
  finishReason: FinishReason;
}

/**
 * Drives one generation for either endpoint: usage accounting (tokens actually
 * produced, time to first token) is the same, only the chunk shapes differ. The
 * plan (alias → targets, or the model itself) is made before, so its errors are
 * HTTP errors rather than stream events.
 */
async function generate(ctx: V1Context, plan: RoutePlan, req: GenerateRequest, onDelta?: (text: string) => void): Promise<Generated> {
  let text = "";
  let finishReason: FinishReason = "stop";
  await generateRouted(ctx, plan, req, (ev) => {
    if (ev.type === "delta") {
      if (ctx.usage.ttftMs === null && ev.tokens > 0) ctx.usage.ttftMs = Date.now() - ctx.startedAt;
      ctx.usage.completionTokens += ev.tokens;
      text += ev.text;
      if (ev.text) onDelta?.(ev.text);
    } else {
      finishReason = ev.finishReason;
      ctx.usage.promptTokens = ev.usage.promptTokens;
      ctx.usage.completionTokens = ev.usage.completionTokens;
    }
  });
  return { text, finishReason };
}

/**
 * A non-streaming generation through the response cache (when enabled and the request
 * qualifies). The plan — alias resolution and the model access check — is made before
 * either way, so a cached answer never reaches a key that may not use the model. The
 * response reports the original usage; the usage log and the limiter see 0 tokens for a hit.
 */
async function generateCached(
  ctx: V1Context,
  endpoint: string,
  body: Common,
  plan: RoutePlan,
  req: GenerateRequest,
): Promise<{ g: Generated; usage: ReturnType<typeof usageOf> }> {
  const key = responseCacheKey(ctx.principal.tenantId, endpoint, body);
  if (key) {
    const hit = cachedAnswer(key);
    ctx.headers["x-switchyard-cache"] = hit ? "hit" : "miss";
    if (hit) {
      ctx.usage.modelUsed = hit.modelUsed;
      ctx.usage.cached = true;
      const usage = { prompt_tokens: hit.promptTokens, completion_tokens: hit.completionTokens, total_tokens: hit.promptTokens + hit.completionTokens };
      return { g: { text: hit.text, finishReason: hit.finishReason }, usage };
    }
  }
  const g = await generate(ctx, plan, req);
  if (key && !ctx.signal.aborted) {
    storeAnswer(key, {
      text: g.text,
      finishReason: g.finishReason,
      promptTokens: ctx.usage.promptTokens,
      completionTokens: ctx.usage.completionTokens,
      modelUsed: ctx.usage.modelUsed,
    });
  }
  return { g, usage: usageOf(ctx) };
}

function usageOf(ctx: V1Context) {
  return {
    prompt_tokens: ctx.usage.promptTokens,
    completion_tokens: ctx.usage.completionTokens,
    total_tokens: ctx.usage.promptTokens + ctx.usage.completionTokens,
  };
}

export async function chatCompletions(ctx: V1Context, body: ChatCompletionRequest): Promise<Response> {
  const created = Math.floor(Date.now() / 1000);
  const id = completionId(ctx, "chatcmpl");
  const rf = body.response_format;
  const req: GenerateRequest = {
    mode: "chat",
    tenantId: ctx.principal.tenantId,
    messages: body.messages.map((m) => ({
      role: m.role === "developer" ? "system" : m.role,
      content: contentText(m.content),
    })) as GenerateRequest["messages"],
    grammar:
      rf?.type === "json_object"
        ? { type: "json_object" }
        : rf?.type === "json_schema"
          ? { type: "json_schema", schema: rf.json_schema.schema }
          : undefined,
    ...generationParams(body, body.max_completion_tokens ?? body.max_tokens),
  };

  const plan = await planRequest(ctx, body.model, req);
  if (!body.stream) {
    const { g, usage } = await generateCached(ctx, "chat.completions", body, plan, req);
    return Response.json(
      {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: g.text, refusal: null }, logprobs: null, finish_reason: g.finishReason }],
        usage,
        system_fingerprint: null,
      },
      { headers: ctx.headers },
    );
  }

  const includeUsage = !!body.stream_options?.include_usage;
  return sseResponse(ctx, async (emit) => {
    const chunk = (delta: object, finish: FinishReason | null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    emit(chunk({ role: "assistant", content: "" }, null));
    const g = await generate(ctx, plan, req, (text) => emit(chunk({ content: text }, null)));
    if (ctx.signal.aborted) return;
    emit(chunk({}, g.finishReason));
    if (includeUsage) {
      emit({ id, object: "chat.completion.chunk", created, model: body.model, system_fingerprint: null, choices: [], usage: usageOf(ctx) });
    }
  });
}

export async function completions(ctx: V1Context, body: CompletionRequest): Promise<Response> {
  const created = Math.floor(Date.now() / 1000);
  const id = completionId(ctx, "cmpl");
  const req: GenerateRequest = {
    mode: "completion",
    tenantId: ctx.principal.tenantId,
    prompt: Array.isArray(body.prompt) ? body.prompt[0] : body.prompt,
    // OpenAI's legacy endpoint defaults to 16 tokens
    ...generationParams(body, body.max_tokens ?? 16),
  };
  const plan = await planRequest(ctx, body.model, req);
  if (!body.stream) {
    const { g, usage } = await generateCached(ctx, "completions", body, plan, req);
    return Response.json(
      {
        id,
        object: "text_completion",
        created,
        model: body.model,
        choices: [{ index: 0, text: g.text, logprobs: null, finish_reason: g.finishReason }],
        usage,
      },
      { headers: ctx.headers },
    );
  }
  const includeUsage = !!body.stream_options?.include_usage;
  return sseResponse(ctx, async (emit) => {
    const chunk = (text: string, finish: FinishReason | null) => ({
      id,
      object: "text_completion",
      created,
      model: body.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    });
    const g = await generate(ctx, plan, req, (text) => emit(chunk(text, null)));
    if (ctx.signal.aborted) return;
    emit(chunk("", g.finishReason));
    if (includeUsage) emit({ id, object: "text_completion", created, model: body.model, choices: [], usage: usageOf(ctx) });
  });
}
