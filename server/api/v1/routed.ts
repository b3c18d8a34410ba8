/**
 * Runs a /api/v1 request on the targets a route plan lists, in order: the first
 * one, and the next only if the previous failed in a retryable way (connect
 * error, timeout, 429, 5xx, a local model that cannot load or is full) BEFORE any
 * text reached the caller. After the first token a failure ends the request —
 * two models' output are never spliced. The usage draft gets the policy, the
 * target that served, the reason and every attempt.
 */
import { db } from "../../db/client";
import { AppError, isAppError } from "../../errors";
import { engineFor } from "../../inference/engine";
import { isBackendError } from "../../inference/remote";
import type { EmbedResult, GenerateEvent, GenerateRequest, InferenceEngine } from "../../inference/types";
import { inFlight } from "../../routing/in-flight";
import { markBackendUnhealthy, remoteEngineFor } from "../../services/backends/backends";
import { type Candidate, type RoutePlan, planRoute } from "../../services/routing/routing";
import type { V1Context } from "./handler";

export interface Attempt {
  target: string;
  ok: boolean;
  error?: string;
}

/** The plan for `name` (alias or model); errors here are proper HTTP errors (404/403/503), before any stream starts. */
export async function planRequest(ctx: V1Context, name: string, req: Pick<GenerateRequest, "messages" | "prompt">): Promise<RoutePlan> {
  const plan = await planRoute(db(), ctx.principal, name, req);
  if (plan.policyId) ctx.usage.route = { policyId: plan.policyId, backendId: null, reason: plan.reason, attempts: null };
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
  ctx: V1Context,
  plan: RoutePlan,
  attempt: (engine: InferenceEngine, model: string, markStarted: () => void) => Promise<T>,
): Promise<T> {
  const attempts: Attempt[] = [];
  const record = () => {
    if (ctx.usage.route) ctx.usage.route.attempts = attempts.length > 1 ? attempts : null;
  };
  for (let i = 0; i < plan.candidates.length; i++) {
    const c = plan.candidates[i]!;
    const done = inFlight.begin(c.key);
    let started = false;
    try {
      const { engine, model, label, backendId } = await engineOf(c);
      ctx.usage.modelUsed = label;
      if (ctx.usage.route) ctx.usage.route.backendId = backendId;
      const out = await attempt(engine, model, () => (started = true));
      attempts.push({ target: c.key, ok: true });
      record();
      return out;
    } catch (e) {
      attempts.push({ target: c.key, ok: false, error: isAppError(e) ? e.code : "internal_error" });
      record();
      // Circuit breaker: the router skips it until a health check succeeds.
      if (c.kind === "backend" && isBackendError(e) && e.unhealthy) await markBackendUnhealthy(db(), c.backend.id, e.message);
      if (started || ctx.signal.aborted || !retryable(e) || i === plan.candidates.length - 1) throw e;
    } finally {
      done();
    }
  }
  throw new Error("unreachable: a plan has at least one candidate");
}

/**
 * Streams a generation through the plan. `onEvent` sees the events of the
 * attempt that serves (a failed attempt before its first text emits nothing the
 * caller can see, except token counts).
 */
export function generateRouted(ctx: V1Context, plan: RoutePlan, req: GenerateRequest, onEvent: (ev: GenerateEvent) => void): Promise<void> {
  return runOnCandidates(ctx, plan, async (engine, model, markStarted) => {
    for await (const ev of engine.generate(model, req, ctx.signal)) {
      if (ev.type === "delta" && ev.text) markStarted();
      onEvent(ev);
    }
  });
}

export function embedRouted(ctx: V1Context, plan: RoutePlan, inputs: string[]): Promise<EmbedResult> {
  return runOnCandidates(ctx, plan, (engine, model) => engine.embed(model, inputs, ctx.principal.tenantId, ctx.signal));
}
