/**
 * Executes a gateway request: plan (alias → targets, or the model itself) → run
 * on the candidates in order → events → result, with the usage draft kept
 * current (model that served, route, attempts, time to first token, tokens, tool
 * calls) for the pipeline's accounting.
 *
 * Fallback: the next candidate is tried only if the previous one failed in a
 * retryable way (connect error, timeout, 429, 5xx, a local model that cannot load
 * or is full) BEFORE any output (text, reasoning, refusal or a tool-call fragment) reached
 * the caller. After that a failure ends the request — two models' output are
 * never spliced. A backend whose failure says it is unhealthy is circuit-broken
 * until a health check succeeds.
 */
import { db } from "../../db/client";
import { AppError, isAppError } from "../../errors";
import { engineFor } from "../../inference/engine";
import { isBackendError } from "../../inference/remote";
import type { EmbedResult, FinishReason, GenerateEvent, GenerateRequest, InferenceEngine } from "../../inference/types";
import { inFlight } from "../../routing/in-flight";
import { markBackendUnhealthy, remoteEngineFor } from "../backends/backends";
import { type Candidate, type RoutePlan, planRoute } from "../routing/plan";
import { SpanKind, endSpan, serverAttributes, startChildSpan, withRequestSpan } from "../../telemetry/tracing";
import { cachedResult, responseCacheKey, storeResult } from "./cache";
import type { ChoiceResult, GatewayContext, GatewayRequest, GenerationResult } from "./types";

export interface Attempt {
  target: string;
  ok: boolean;
  error?: string;
}

/** The plan for `name` (alias or model); errors here are proper HTTP errors (400/403/404/503), before any stream starts. */
export async function planRequest(ctx: GatewayContext, name: string, req: Pick<GenerateRequest, "messages" | "prompt" | "passthrough">): Promise<RoutePlan> {
  const span = startChildSpan(ctx.trace, `route ${name}`, SpanKind.INTERNAL, { "gen_ai.request.model": name });
  let plan: RoutePlan;
  try {
    plan = await planRoute(db(), ctx.principal, name, { ...req, sessionId: ctx.sessionId });
  } catch (e) {
    endSpan(span, { error: e, errorType: isAppError(e) ? e.code : undefined });
    throw e;
  }
  endSpan(span, {
    attributes: {
      "switchyard.route.candidates": plan.candidates.map((c) => c.key),
      ...(plan.reason ? { "switchyard.route.reason": plan.reason } : {}),
      ...(plan.policyId ? { "switchyard.route.policy_id": plan.policyId } : {}),
    },
  });
  if (plan.policyId) ctx.usage.route = { policyId: plan.policyId, backendId: null, reason: plan.reason, score: plan.score, attempts: null };
  if (plan.candidates.length === 0) {
    throw new AppError("unavailable", `No target of '${name}' is available right now (${plan.reason})`, { code: "no_healthy_target", retryAfter: 15 });
  }
  return plan;
}

async function engineOf(c: Candidate): Promise<{ engine: InferenceEngine; model: string; label: string; backendId: string | null }> {
  if (c.kind === "model") return { engine: await engineFor(c.model), model: c.model.name, label: c.model.name, backendId: null };
  return { engine: remoteEngineFor(c.backend), model: c.model, label: `${c.backend.name}/${c.model}`, backendId: c.backend.id };
}

function retryable(e: unknown): boolean {
  if (isBackendError(e)) return e.retryable;
  if (isAppError(e)) return e.kind === "unavailable" || e.kind === "rate_limited";
  return true; // an unexpected failure of one target: another may well work
}

/** Runs `attempt` on each candidate until one succeeds or fallback is no longer allowed. */
async function runOnCandidates<T>(
  ctx: GatewayContext,
  plan: RoutePlan,
  attempt: (engine: InferenceEngine, model: string, markStarted: () => void) => Promise<T>,
  /** gen_ai.operation.name of the attempts' spans */
  operation: string,
): Promise<T> {
  const attempts: Attempt[] = [];
  const record = () => {
    if (ctx.usage.route) ctx.usage.route.attempts = attempts.length > 1 ? attempts : null;
  };
  for (let i = 0; i < plan.candidates.length; i++) {
    const c = plan.candidates[i]!;
    const done = inFlight.begin(c.key);
    let started = false;
    let span: ReturnType<typeof startChildSpan> = null;
    try {
      const { engine, model, label, backendId } = await engineOf(c);
      ctx.usage.modelUsed = label;
      ctx.usage.served = { backendId, model };
      if (ctx.usage.route) ctx.usage.route.backendId = backendId;
      const server = c.kind === "backend" ? serverAttributes(c.backend.baseUrl) : {};
      span = startChildSpan(ctx.trace, `${operation} ${model}`, SpanKind.CLIENT, {
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": model,
        "gen_ai.provider.name": c.kind === "backend" ? "openai" : "llama.cpp",
        "switchyard.attempt": i + 1,
        "switchyard.target": c.key,
        ...server,
      });
      // active around the engine: remote.ts forwards its traceparent, fair-queue.ts nests under it
      const out = await withRequestSpan(span, () => attempt(engine, model, () => (started = true)));
      attempts.push({ target: c.key, ok: true });
      record();
      endSpan(span, { attributes: { "gen_ai.response.model": model } });
      ctx.trace?.span.setAttributes(server);
      return out;
    } catch (e) {
      endSpan(span, { error: e, errorType: isAppError(e) || isBackendError(e) ? e.code : "_OTHER" });
      attempts.push({ target: c.key, ok: false, error: isAppError(e) ? e.code : "internal_error" });
      record();
      if (c.kind === "backend" && isBackendError(e) && e.unhealthy) await markBackendUnhealthy(db(), c.backend.id, e.message);
      if (started || ctx.signal.aborted || !retryable(e) || i === plan.candidates.length - 1) throw e;
    } finally {
      done();
    }
  }
  throw new Error("unreachable: a plan has at least one candidate");
}

/** The engine's events, with the time spent waiting for each added to ctx.timing (the model's time, not the gateway's). */
async function* timed(ctx: GatewayContext, events: AsyncIterable<GenerateEvent>): AsyncGenerator<GenerateEvent> {
  const it = events[Symbol.asyncIterator]();
  try {
    for (;;) {
      const t0 = performance.now();
      const r = await it.next();
      ctx.timing.engineMs += performance.now() - t0;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

/** Assembles a generation's events into choices, as OpenAI's SDKs assemble a stream. */
class Assembler {
  private readonly choices = new Map<number, ChoiceResult & { calls: Map<number, { id: string; name: string; arguments: string }>; finished: boolean }>();
  usage: GenerationResult["usage"] | null = null;
  private lastFinish: FinishReason = "stop";
  private stopSequence: string | undefined;

  private choice(i: number) {
    let c = this.choices.get(i);
    if (!c) {
      c = { index: i, text: "", refusal: null, reasoning: null, toolCalls: [], finishReason: "stop", logprobs: null, calls: new Map(), finished: false };
      this.choices.set(i, c);
    }
    return c;
  }

  add(ev: GenerateEvent) {
    if (ev.type === "done") {
      this.lastFinish = ev.finishReason;
      this.usage = ev.usage;
      this.stopSequence = ev.stopSequence;
      return;
    }
    const c = this.choice(ev.choice ?? 0);
    if (ev.type === "delta") c.text += ev.text;
    else if (ev.type === "refusal") c.refusal = (c.refusal ?? "") + ev.text;
    else if (ev.type === "reasoning") c.reasoning = (c.reasoning ?? "") + ev.text;
    else if (ev.type === "tool_call") {
      let call = c.calls.get(ev.index);
      if (!call) c.calls.set(ev.index, (call = { id: "", name: "", arguments: "" }));
      if (ev.id) call.id = ev.id;
      if (ev.name) call.name = ev.name;
      if (ev.arguments) call.arguments += ev.arguments;
    } else if (ev.type === "logprobs") {
      c.logprobs ??= { content: null, refusal: null };
      if (ev.logprobs.content) c.logprobs.content = [...(c.logprobs.content ?? []), ...ev.logprobs.content];
      if (ev.logprobs.refusal) c.logprobs.refusal = [...(c.logprobs.refusal ?? []), ...ev.logprobs.refusal];
    } else if (ev.type === "finish") {
      c.finishReason = ev.finishReason;
      c.finished = true;
    }
  }

  /** `counted`: the tokens the caller saw, for an attempt that ended without `done` */
  result(counted: GenerationResult["usage"]): GenerationResult {
    this.choice(0);
    const choices = [...this.choices.values()]
      .sort((a, b) => a.index - b.index)
      .map(({ calls, finished, ...c }) => ({
        ...c,
        // an engine that reports only `done` (the local pool) finishes choice 0 there
        finishReason: finished ? c.finishReason : this.lastFinish,
        toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, t]) => t),
        ...(c.index === 0 && this.stopSequence !== undefined ? { stopSequence: this.stopSequence } : {}),
      }));
    return { choices, usage: this.usage ?? counted };
  }
}

const countToolCalls = (r: GenerationResult) => r.choices.reduce((n, c) => n + c.toolCalls.length, 0);

/** A planned generation, ready to run once — whole (through the response cache) or streamed. */
export interface PreparedGeneration {
  /** Runs to the end and returns the result; a qualifying request goes through the response cache. */
  complete(): Promise<GenerationResult>;
  /** Runs and hands every event of the serving attempt to `onEvent` as it arrives. */
  stream(onEvent: (ev: GenerateEvent) => void): Promise<GenerationResult>;
}

/**
 * Plans `req` for the caller. Planning happens here — before a stream starts — so
 * its errors (unknown model, no access, nothing can take images, nothing healthy)
 * are HTTP errors, not stream events.
 */
export async function prepareGeneration(ctx: GatewayContext, req: GatewayRequest): Promise<PreparedGeneration> {
  const { model: name, stream: _stream, ...rest } = req;
  const gen: GenerateRequest = { ...rest, tenantId: ctx.principal.tenantId, apiKeyId: ctx.principal.apiKeyId };
  ctx.usage.toolsOffered = gen.tools?.length ?? 0;
  let answer: () => GenerationResult | null = () => null;
  ctx.exchange = { request: req, answer: () => answer() };
  const plan = await planRequest(ctx, name, gen);
  // what the first target can refuse before generating (a prompt over its context) is a
  // plain HTTP error in every dialect, also for streams
  const first = plan.candidates[0]!;
  if (first.kind === "model") await (await engineFor(first.model)).check(first.model.name, gen);

  const run = async (onEvent?: (ev: GenerateEvent) => void): Promise<GenerationResult> => {
    let out = new Assembler();
    // nobody watches the events of a whole answer: remote upstreams answer it in one piece
    const request = onEvent ? gen : { ...gen, whole: true };
    answer = () => out.result({ promptTokens: ctx.usage.promptTokens, completionTokens: ctx.usage.completionTokens });
    await runOnCandidates(ctx, plan, async (engine, model, markStarted) => {
      out = new Assembler(); // a failed attempt before its first output leaves nothing behind
      for await (const ev of timed(ctx, engine.generate(model, request, ctx.signal))) {
        if (ev.type === "delta") {
          if (ctx.usage.ttftMs === null && ev.tokens > 0) ctx.usage.ttftMs = Date.now() - ctx.startedAt;
          ctx.usage.completionTokens += ev.tokens;
          if (ev.text) markStarted();
        } else if (ev.type === "tool_call" || ev.type === "refusal" || ev.type === "reasoning") {
          ctx.usage.ttftMs ??= Date.now() - ctx.startedAt;
          // remote upstreams send about a token per refusal/reasoning delta; `done` corrects it
          ctx.usage.completionTokens += ev.type === "tool_call" ? (ev.tokens ?? 0) : 1;
          markStarted();
        } else if (ev.type === "done") {
          ctx.usage.promptTokens = ev.usage.promptTokens;
          ctx.usage.completionTokens = ev.usage.completionTokens;
          ctx.usage.cachedTokens = ev.usage.cachedPromptTokens ?? 0;
        }
        out.add(ev);
        onEvent?.(ev);
      }
    }, gen.mode === "completion" ? "text_completion" : "chat");
    const result = out.result({ promptTokens: ctx.usage.promptTokens, completionTokens: ctx.usage.completionTokens });
    ctx.usage.toolCalls = countToolCalls(result);
    return result;
  };

  return {
    stream: (onEvent) => run(onEvent),
    async complete() {
      const key = responseCacheKey(ctx.principal.tenantId, name, req);
      if (key) {
        const hit = cachedResult(key);
        ctx.headers["x-switchyard-cache"] = hit ? "hit" : "miss";
        if (hit) {
          // The plan was made all the same: a cached answer never reaches a key that may not use the model.
          ctx.usage.modelUsed = hit.modelUsed;
          ctx.usage.cached = true;
          ctx.usage.toolCalls = countToolCalls(hit.result);
          answer = () => hit.result;
          return hit.result;
        }
      }
      const result = await run();
      if (key && !ctx.signal.aborted) storeResult(key, { result, modelUsed: ctx.usage.modelUsed });
      return result;
    },
  };
}

/** Embeddings through the plan for `name`. */
export async function embed(ctx: GatewayContext, name: string, inputs: string[]): Promise<EmbedResult> {
  ctx.exchange = { request: { model: name, input: inputs }, answer: () => null };
  const plan = await planRequest(ctx, name, { prompt: inputs.join("\n") });
  const result = await runOnCandidates(
    ctx,
    plan,
    async (engine, model) => {
      const t0 = performance.now();
      try {
        return await engine.embed(model, inputs, ctx.principal.tenantId, ctx.signal);
      } finally {
        ctx.timing.engineMs += performance.now() - t0;
      }
    },
    "embeddings",
  );
  ctx.usage.promptTokens = result.usage.promptTokens;
  return result;
}
