/**
 * The plan for one request: policy → live state → router decision → concrete
 * targets in the order to try them (services/gateway/execute.ts walks them), and dry
 * runs of the same for the console and the CLI. The decision itself is
 * server/routing/router.ts (pure); this file only gathers what it needs, through the
 * in-process config cache (config-cache.ts). It starts no calibration work: the
 * thresholds it uses are the stored ones (calibration.ts runs in housekeeping).
 */
import type { Principal } from "../../auth/principal";
import type { Db } from "../../db/client";
import { AppError, NotFound } from "../../errors";
import { type GenerateRequest, hasImages } from "../../inference/types";
import { difficultyScore, featuresOf } from "../../routing/difficulty";
import { type Decision, type LiveState, decide } from "../../routing/router";
import { inFlight } from "../../routing/in-flight";
import { sessionKeyOf, stickyFirst } from "../../routing/affinity";
import { backendVision, type backendsById, cachedBackendsById } from "../backends/backends";
import { isHfUri, modelForTenant, resolveModelFor } from "../models/models";
import { thresholdsOf } from "./calibration";
import { embeddingFeature } from "./embedding";
import { type Policy, enabledPolicy, policySelect, toPolicy } from "./policies";
import { DryRunInput, targetKey } from "./schemas";

type ModelRowLite = Awaited<ReturnType<typeof resolveModelFor>>;
type BackendRow = NonNullable<Awaited<ReturnType<typeof backendsById>> extends Map<string, infer B> ? B : never>;

export type Candidate =
  | { key: string; kind: "model"; model: ModelRowLite }
  | { key: string; kind: "backend"; backend: BackendRow; model: string };

export interface RoutePlan {
  /** null when the name is a plain model (no policy) */
  policyId: string | null;
  alias: string | null;
  reason: string | null;
  score: number | null;
  thresholds: number[] | null;
  /** in the order to try them */
  candidates: Candidate[];
  skipped: { key: string; why: string }[];
}

const MAX_ALIAS_DEPTH = 4;

/** The live state the router sees, built once per plan from rows already loaded. */
interface Resolved {
  models: Map<string, ModelRowLite | null>;
  backends: Map<string, BackendRow>;
  policies: Map<string, Policy>;
}

async function loadResolved(db: Db, tenantId: string, root: Policy): Promise<Resolved> {
  const policies = new Map<string, Policy>([[root.alias, root]]);
  // Load nested aliases breadth-first (bounded: cycles are refused at save, depth is capped anyway).
  let frontier = [root];
  for (let depth = 0; depth < MAX_ALIAS_DEPTH && frontier.length; depth++) {
    const names = [...new Set(frontier.flatMap((p) => p.targets.flatMap((t) => (t.type === "alias" && !policies.has(t.alias) ? [t.alias] : []))))];
    if (!names.length) break;
    frontier = [];
    for (const name of names) {
      const p = await enabledPolicy(db, tenantId, name);
      if (p) frontier.push(p);
    }
    for (const p of frontier) policies.set(p.alias, p);
  }
  const all = [...policies.values()].flatMap((p) => p.targets);
  const modelNames = [...new Set(all.flatMap((t) => (t.type === "model" ? [t.model] : [])))];
  const models = new Map<string, ModelRowLite | null>();
  for (const n of modelNames) {
    const m = await modelForTenant(db, tenantId, n);
    models.set(n, m && !isHfUri(m.source) ? m : null);
  }
  const backends = await cachedBackendsById(db, [...new Set(all.flatMap((t) => (t.type === "backend" ? [t.backendId] : [])))], tenantId);
  return { models, backends, policies };
}

function liveStateOf(r: Resolved, depth = 0): LiveState {
  const healthy = (key: string): boolean => {
    const [kind, rest] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    if (kind === "model") return !!r.models.get(rest);
    if (kind === "backend") {
      const slash = rest.indexOf("/");
      const b = r.backends.get(rest.slice(0, slash));
      return !!b && b.enabled && b.health !== "unhealthy";
    }
    const p = r.policies.get(rest);
    if (!p || depth >= MAX_ALIAS_DEPTH) return false;
    const inner = liveStateOf(r, depth + 1);
    return p.targets.some((t) => inner.healthy(targetKey(t)));
  };
  return { healthy, inFlight: (key) => inFlight.get(key) };
}

function expand(p: Policy, r: Resolved, score: number, rng: () => number, depth: number): { decision: Decision; candidates: Candidate[] } {
  const thresholds = p.strategy === "difficulty" ? thresholdsOf(p) : undefined;
  const decision = decide(
    { strategy: p.strategy, targets: p.targets.map((t) => ({ key: targetKey(t), weight: t.weight })), thresholds },
    { score },
    liveStateOf(r, depth),
    rng,
  );
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const add = (c: Candidate) => {
    if (!seen.has(c.key)) {
      seen.add(c.key);
      candidates.push(c);
    }
  };
  for (const i of decision.order) {
    const t = p.targets[i]!;
    const key = targetKey(t);
    if (t.type === "model") add({ key, kind: "model", model: r.models.get(t.model)! });
    else if (t.type === "backend") add({ key, kind: "backend", backend: r.backends.get(t.backendId)!, model: t.model });
    else if (depth < MAX_ALIAS_DEPTH) for (const c of expand(r.policies.get(t.alias)!, r, score, rng, depth + 1).candidates) add(c);
  }
  return { decision, candidates };
}

// ───────────────────────── image input ─────────────────────────

/** Why a candidate left the plan of a request with images. */
export const TEXT_ONLY = "text-only (no image input)";

/**
 * Whether a candidate may get a request with images: local GGUF models never
 * (node-llama-cpp 3.x is text-only), a backend's model unless it is known to be
 * text-only (declared false). Unknown (null) is forwarded: the upstream decides.
 */
function takesImages(c: Candidate): boolean {
  return c.kind === "backend" && backendVision(c.backend, c.model) !== false;
}

/**
 * Whether any target of the policy, followed through aliases, could take images
 * if it were available — health aside (a capable backend that is down makes the
 * request a 503 to retry, not a 400), but a backend this tenant may no longer use
 * or that is disabled cannot.
 */
function policyTakesImages(p: Policy, r: Resolved, depth: number): boolean {
  return p.targets.some((t) => {
    if (t.type === "model") return false;
    if (t.type === "backend") {
      const b = r.backends.get(t.backendId);
      return !!b && b.enabled && backendVision(b, t.model) !== false;
    }
    const inner = r.policies.get(t.alias);
    return depth < MAX_ALIAS_DEPTH && !!inner && policyTakesImages(inner, r, depth + 1);
  });
}

/** The targets of a policy (through aliases) and why each cannot take images, for the 400's message. */
function targetLabels(p: Policy, r: Resolved, depth = 0): string[] {
  return p.targets.flatMap((t) => {
    if (t.type === "model") return [`${t.model} (local model, text only)`];
    if (t.type === "backend") {
      const b = r.backends.get(t.backendId);
      return [b ? `${b.name}/${t.model} (${b.enabled ? "text only" : "disabled"})` : `${t.backendId}/${t.model} (not available)`];
    }
    const inner = r.policies.get(t.alias);
    return depth < MAX_ALIAS_DEPTH && inner ? targetLabels(inner, r, depth + 1) : [];
  });
}

function noImageInput(name: string, detail: string): AppError {
  return new AppError("invalid", `The model '${name}' does not accept image input (${detail})`, { code: "model_not_supported", param: "messages" });
}

/**
 * What serves `name` for this caller: the tenant's alias of that name if there is
 * one (routing policy), else the model of that name as before. Throws the same
 * errors as resolveModelFor (404, 403 outside the key's allowlist), a 400
 * (model_not_supported) for images sent to a name none of whose targets takes them
 * (a local model, text-only backends), and returns no candidates (a 503 for the
 * caller) when no target of the policy is healthy.
 */
export async function planRoute(
  db: Db,
  principal: Principal,
  name: string,
  req: PlanInput,
  rng: () => number = Math.random,
): Promise<RoutePlan> {
  const policy = await enabledPolicy(db, principal.tenantId, name);
  if (!policy) {
    const model = await resolveModelFor(db, principal, name);
    if (hasImages(req.messages)) throw noImageInput(name, "a local model: text only");
    return { policyId: null, alias: null, reason: null, score: null, thresholds: null, candidates: [{ key: `model:${model.name}`, kind: "model", model }], skipped: [] };
  }
  if (principal.models && !principal.models.includes(name)) {
    throw new AppError("forbidden", `This API key may not use the model '${name}'`, { code: "model_not_allowed", param: "model" });
  }
  return planFor(db, principal.tenantId, policy, req, rng);
}

/** What planning reads of a request; `sessionId` (the x-session-id header) and `passthrough` only matter to session affinity. */
export type PlanInput = Pick<GenerateRequest, "messages" | "prompt"> & { passthrough?: Record<string, unknown>; sessionId?: string | null };

async function planFor(db: Db, tenantId: string, policy: Policy, req: PlanInput, rng: () => number): Promise<RoutePlan> {
  const r = await loadResolved(db, tenantId, policy);
  let score = 0;
  let embeddingNote = "";
  if (policy.strategy === "difficulty") {
    let embedding: number | null = null;
    if (policy.embeddingModel) {
      embedding = await embeddingFeature(db, tenantId, policy.embeddingModel, req).catch(() => null);
      embeddingNote = embedding === null ? "; embedding feature unavailable" : `; embedding=${embedding.toFixed(4)}`;
    }
    score = difficultyScore(featuresOf(req), embedding);
  }
  const expanded = expand(policy, r, score, rng, 0);
  const { decision } = expanded;
  let candidates = expanded.candidates;
  const skipped = [...decision.skipped];
  let imageNote = "";
  if (hasImages(req.messages)) {
    const textOnly = candidates.filter((c) => !takesImages(c));
    if (textOnly.length) {
      candidates = candidates.filter(takesImages);
      skipped.push(...textOnly.map((c) => ({ key: c.key, why: TEXT_ONLY })));
      imageNote = `; skipped ${TEXT_ONLY} ${textOnly.map((c) => c.key).join(", ")}`;
    }
    if (candidates.length === 0 && !policyTakesImages(policy, r, 0)) throw noImageInput(policy.alias, `its targets: ${[...new Set(targetLabels(policy, r))].join(", ")}`);
  }
  let affinityNote = "";
  if (policy.affinity === "session" && candidates.length > 1) {
    const session = sessionKeyOf(tenantId, req);
    if (session) {
      candidates = stickyFirst(candidates, session);
      affinityNote = `; session affinity → ${candidates[0]!.key}`;
    }
  }
  const plan: RoutePlan = {
    policyId: policy.id,
    alias: policy.alias,
    reason: decision.reason + embeddingNote + imageNote + affinityNote,
    score: decision.score ?? null,
    thresholds: policy.strategy === "difficulty" ? thresholdsOf(policy) : null,
    candidates,
    skipped,
  };
  return plan;
}

/** Dry run: the decision and why, for a pasted conversation, without calling any model. */
export async function dryRun(db: Db, tenantId: string, raw: DryRunInput) {
  const input = DryRunInput.parse(raw);
  const row = await db.routingPolicy.findFirst({ where: { tenantId, alias: input.alias }, select: policySelect });
  if (!row) throw NotFound(`Alias ${input.alias}`);
  const policy = toPolicy(row);
  const plan = await planFor(db, tenantId, policy, { messages: input.messages }, Math.random);
  const r = await loadResolved(db, tenantId, policy);
  return {
    alias: policy.alias,
    policyId: policy.id,
    version: policy.version,
    strategy: policy.strategy,
    reason: plan.reason,
    score: plan.score,
    thresholds: plan.thresholds,
    calibration: policy.calibration,
    chosen: plan.candidates[0] ? describe(plan.candidates[0]) : null,
    fallbacks: plan.candidates.slice(1).map(describe),
    /** targets left out, and why: unhealthy, or text-only for a conversation with images */
    skipped: plan.skipped,
    targets: policy.targets.map((t) => {
      const key = targetKey(t);
      const backend = t.type === "backend" ? r.backends.get(t.backendId) : undefined;
      // image input: false for local models, the backend's declaration or discovery, null = unknown (forwarded)
      const images = t.type === "model" ? false : t.type === "backend" ? (backend ? backendVision(backend, t.model) : null) : undefined;
      return {
        key,
        healthy: liveStateOf(r).healthy(key),
        inFlight: inFlight.get(key),
        ...(images !== undefined ? { images } : {}),
        ...(backend ? { lastError: backend.lastError } : {}),
      };
    }),
  };
}

function describe(c: Candidate) {
  return c.kind === "model"
    ? { key: c.key, kind: c.kind, model: c.model.name }
    : { key: c.key, kind: c.kind, model: c.model, backendId: c.backend.id, backend: c.backend.name };
}
