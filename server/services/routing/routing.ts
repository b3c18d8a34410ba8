/**
 * Routing policies (a tenant's aliases): versioned CRUD with validation at save
 * time, the plan for one request (policy → live state → router decision →
 * concrete targets in the order to try them), dry runs, and calibration of
 * difficulty thresholds on the tenant's own recent traffic.
 *
 * The decision itself is server/routing/router.ts (pure); this file only gathers
 * what it needs. Every where has tenantId.
 */
import type { Principal } from "../../auth/principal";
import type { Db, Tx } from "../../db/client";
import { AppError, Conflict, Invalid, NotFound, isUniqueViolation } from "../../errors";
import { type GenerateRequest, contentText, hasImages } from "../../inference/types";
import { newId } from "../../lib/ids";
import { engineFor } from "../../inference/engine";
import { difficultyScore, featuresOf } from "../../routing/difficulty";
import { EASY_EXEMPLARS, HARD_EXEMPLARS, centroid, hardness } from "../../routing/exemplars";
import { type Decision, type LiveState, calibrate, decide, defaultThresholds, scoreFromReason } from "../../routing/router";
import { inFlight } from "../../routing/in-flight";
import { sessionKeyOf, stickyFirst } from "../../routing/affinity";
import { type Actor, recordAudit } from "../audit/audit";
import { backendVision, backendsById, cachedBackendsById } from "../backends/backends";
import { isHfUri, modelForTenant, resolveModelFor } from "../models/models";
import { bumpConfigStamp, cachedConfig, configChange } from "./config-cache";
import {
  type AffinityName,
  CreatePolicyInput,
  DryRunInput,
  type PolicyTarget,
  PolicyTarget as PolicyTargetSchema,
  RestorePolicyInput,
  type StrategyName,
  UpdatePolicyInput,
  targetKey,
} from "./schemas";
import { logger } from "../../log/logger";

const policySelect = {
  id: true,
  tenantId: true,
  alias: true,
  strategy: true,
  targets: true,
  config: true,
  affinity: true,
  version: true,
  enabled: true,
  createdAt: true,
  updatedAt: true,
} as const;

interface Calibration {
  thresholds: number[];
  samples: number;
  at: string;
}
interface PolicyConfig {
  strongShare: number;
  embeddingModel?: string | null;
  calibration?: Calibration | null;
}

interface Snapshot {
  strategy: StrategyName;
  targets: PolicyTarget[];
  strongShare: number;
  embeddingModel?: string | null;
  /** absent in versions saved before affinity existed */
  affinity?: AffinityName;
  enabled: boolean;
}

type PolicyRow = { id: string; tenantId: string; alias: string; strategy: string; targets: string; config: string; affinity: string; version: number; enabled: boolean; createdAt: Date; updatedAt: Date };

function parseJson<T>(s: string, fallback: T): T {
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

export function toPolicy(r: PolicyRow) {
  const targets = PolicyTargetSchema.array().safeParse(parseJson(r.targets, []));
  const config = parseJson<Partial<PolicyConfig>>(r.config, {});
  return {
    id: r.id,
    alias: r.alias,
    strategy: r.strategy as StrategyName,
    targets: targets.success ? targets.data : [],
    strongShare: config.strongShare ?? 0.2,
    embeddingModel: config.embeddingModel ?? null,
    calibration: config.calibration ?? null,
    affinity: (r.affinity === "session" ? "session" : "none") as AffinityName,
    version: r.version,
    enabled: r.enabled,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
export type Policy = ReturnType<typeof toPolicy>;

export async function listPolicies(db: Db, tenantId: string) {
  const rows = await db.routingPolicy.findMany({ where: { tenantId }, orderBy: { alias: "asc" }, select: policySelect });
  return rows.map(toPolicy);
}

export async function getPolicy(db: Db, tenantId: string, policyId: string) {
  const r = await db.routingPolicy.findFirst({ where: { id: policyId, tenantId }, select: policySelect });
  if (!r) throw NotFound("Routing policy");
  const versions = await db.routingPolicyVersion.findMany({
    where: { tenantId, policyId },
    orderBy: { version: "desc" },
    select: { version: true, snapshot: true, createdById: true, createdAt: true },
  });
  return { ...toPolicy(r), versions: versions.map((v) => ({ ...v, snapshot: parseJson<Snapshot | null>(v.snapshot, null) })) };
}

/**
 * Everything about targets that needs the database: each exists and this tenant
 * may use it, and alias targets form no cycle. Messages name the target by its
 * position, as the admin listed them.
 */
async function validateTargets(tx: Tx | Db, tenantId: string, alias: string, targets: PolicyTarget[]) {
  const models = targets.filter((t) => t.type === "model").map((t) => t.model);
  const modelRows = models.length
    ? await tx.model.findMany({
        where: { name: { in: models } },
        select: { name: true, enabled: true, public: true, grants: { where: { tenantId }, select: { id: true } } },
      })
    : [];
  const modelByName = new Map(modelRows.map((m) => [m.name, m]));
  const backendIds = targets.flatMap((t) => (t.type === "backend" ? [t.backendId] : []));
  const backends = backendIds.length
    ? await tx.backend.findMany({
        where: { id: { in: backendIds } },
        select: { id: true, name: true, models: true, public: true, grants: { where: { tenantId }, select: { id: true } } },
      })
    : [];
  const backendById = new Map(backends.map((b) => [b.id, b]));
  const policies = await tx.routingPolicy.findMany({ where: { tenantId }, select: { alias: true, targets: true } });

  targets.forEach((t, i) => {
    const at = `Target #${i + 1}`;
    if (t.type === "model") {
      const m = modelByName.get(t.model);
      if (!m || !m.enabled || (!m.public && m.grants.length === 0)) throw Invalid(`${at}: there is no model '${t.model}' this tenant may use`, "targets", "unknown_target");
    } else if (t.type === "backend") {
      const b = backendById.get(t.backendId);
      if (!b) throw Invalid(`${at}: there is no backend '${t.backendId}'`, "targets", "unknown_target");
      if (!b.public && b.grants.length === 0) {
        throw Invalid(`${at}: backend ${b.name} is not available to this tenant (a platform admin grants access)`, "targets", "target_not_allowed");
      }
      const served = parseJson<string[]>(b.models, []);
      if (served.length && !served.includes(t.model)) {
        throw Invalid(`${at}: backend ${b.name} does not serve '${t.model}' (it serves ${served.slice(0, 10).join(", ")})`, "targets", "unknown_target");
      }
    } else if (t.alias !== alias && !policies.some((p) => p.alias === t.alias)) {
      throw Invalid(`${at}: there is no alias '${t.alias}' in this tenant`, "targets", "unknown_target");
    }
  });

  // Cycles: follow alias targets from this alias, with its new targets in place of the stored ones.
  const graph = new Map<string, string[]>();
  for (const p of policies) {
    const ts = PolicyTargetSchema.array().safeParse(parseJson(p.targets, []));
    graph.set(p.alias, ts.success ? ts.data.flatMap((x) => (x.type === "alias" ? [x.alias] : [])) : []);
  }
  graph.set(alias, targets.flatMap((x) => (x.type === "alias" ? [x.alias] : [])));
  const path: string[] = [];
  const visit = (a: string): string[] | null => {
    if (path.includes(a)) return [...path.slice(path.indexOf(a)), a];
    path.push(a);
    for (const next of graph.get(a) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    return null;
  };
  const cycle = visit(alias);
  if (cycle) throw Invalid(`Aliases would form a cycle: ${cycle.join(" → ")}`, "targets", "alias_cycle");
}

function snapshotOf(input: { strategy: StrategyName; targets: PolicyTarget[]; strongShare: number; embeddingModel?: string | null; affinity?: AffinityName; enabled: boolean }): Snapshot {
  return {
    strategy: input.strategy,
    targets: input.targets,
    strongShare: input.strongShare,
    embeddingModel: input.embeddingModel ?? null,
    affinity: input.affinity ?? "none",
    enabled: input.enabled,
  };
}

/** The difficulty embedding model must be a local embedding model this tenant may use. */
async function validateEmbeddingModel(tx: Tx | Db, tenantId: string, name: string | null | undefined) {
  if (!name) return;
  const m = await tx.model.findFirst({
    where: { name, enabled: true, OR: [{ public: true }, { grants: { some: { tenantId } } }] },
    select: { kind: true },
  });
  if (!m) throw Invalid(`There is no model '${name}' this tenant may use`, "embeddingModel", "unknown_target");
  if (m.kind !== "embedding") throw Invalid(`'${name}' is a ${m.kind} model, not an embedding model`, "embeddingModel");
}

async function writeVersion(tx: Tx, actor: Actor, tenantId: string, policyId: string, version: number, snap: Snapshot) {
  await tx.routingPolicyVersion.create({
    data: { id: newId("pov"), tenantId, policyId, version, snapshot: JSON.stringify(snap), createdById: actor.userId },
  });
}

export async function createPolicy(db: Db, actor: Actor, tenantId: string, raw: CreatePolicyInput) {
  const input = CreatePolicyInput.parse(raw);
  try {
    return await configChange(() => db.$transaction(async (tx) => {
      await bumpConfigStamp(tx);
      await validateTargets(tx, tenantId, input.alias, input.targets);
      await validateEmbeddingModel(tx, tenantId, input.embeddingModel);
      const snap = snapshotOf(input);
      const row = await tx.routingPolicy.create({
        data: {
          id: newId("pol"),
          tenantId,
          alias: input.alias,
          strategy: input.strategy,
          targets: JSON.stringify(input.targets),
          config: JSON.stringify({ strongShare: input.strongShare, embeddingModel: snap.embeddingModel } satisfies PolicyConfig),
          affinity: snap.affinity,
          enabled: input.enabled,
          version: 1,
        },
        select: policySelect,
      });
      await writeVersion(tx, actor, tenantId, row.id, 1, snap);
      await recordAudit(tx, actor, { tenantId, action: "routing.create", targetType: "routing_policy", targetId: row.id, data: { alias: input.alias, version: 1, ...snap } });
      return toPolicy(row);
    }));
  } catch (e) {
    if (isUniqueViolation(e)) throw Conflict(`The alias ${input.alias} already exists in this tenant`, "alias_exists", "alias");
    throw e;
  }
}

/** Writes a new version of a policy (an edit or a restore) with its audit row. */
async function newVersion(tx: Tx, actor: Actor, tenantId: string, policyId: string, snap: Snapshot, action: string, extra: Record<string, unknown> = {}) {
  const cur = await tx.routingPolicy.findFirst({ where: { id: policyId, tenantId }, select: policySelect });
  if (!cur) throw NotFound("Routing policy");
  await validateTargets(tx, tenantId, cur.alias, snap.targets);
  await validateEmbeddingModel(tx, tenantId, snap.embeddingModel);
  const version = cur.version + 1;
  const oldConfig = parseJson<Partial<PolicyConfig>>(cur.config, {});
  // Calibrated thresholds stay valid while the tiers and share are unchanged.
  const keepCalibration =
    oldConfig.strongShare === snap.strongShare && (oldConfig.embeddingModel ?? null) === (snap.embeddingModel ?? null) && cur.targets === JSON.stringify(snap.targets);
  const updated = await tx.routingPolicy.updateMany({
    where: { id: policyId, tenantId, version: cur.version },
    data: {
      strategy: snap.strategy,
      targets: JSON.stringify(snap.targets),
      config: JSON.stringify({
        strongShare: snap.strongShare,
        embeddingModel: snap.embeddingModel ?? null,
        calibration: keepCalibration ? (oldConfig.calibration ?? null) : null,
      } satisfies PolicyConfig),
      affinity: snap.affinity ?? "none",
      enabled: snap.enabled,
      version,
    },
  });
  if (updated.count !== 1) throw Conflict("The policy changed while you were editing it; reload and try again", "policy_changed");
  await bumpConfigStamp(tx);
  await writeVersion(tx, actor, tenantId, policyId, version, snap);
  await recordAudit(tx, actor, { tenantId, action, targetType: "routing_policy", targetId: policyId, data: { alias: cur.alias, version, ...extra, ...snap } });
  return toPolicy((await tx.routingPolicy.findFirst({ where: { id: policyId, tenantId }, select: policySelect }))!);
}

export async function updatePolicy(db: Db, actor: Actor, tenantId: string, raw: UpdatePolicyInput) {
  const input = UpdatePolicyInput.parse(raw);
  return configChange(() => db.$transaction((tx) => newVersion(tx, actor, tenantId, input.policyId, snapshotOf(input), "routing.update")));
}

/** Makes an earlier version current again, as a new version (history is never rewritten). */
export async function restorePolicy(db: Db, actor: Actor, tenantId: string, raw: { policyId: string; version: number }) {
  const input = RestorePolicyInput.parse(raw);
  return configChange(() => db.$transaction(async (tx) => {
    const v = await tx.routingPolicyVersion.findFirst({ where: { tenantId, policyId: input.policyId, version: input.version }, select: { snapshot: true } });
    if (!v) throw NotFound(`Version ${input.version} of this policy`);
    const snap = parseJson<Snapshot | null>(v.snapshot, null);
    if (!snap) throw Invalid(`Version ${input.version} cannot be read`, "version");
    return newVersion(tx, actor, tenantId, input.policyId, snap, "routing.restore", { restoredFrom: input.version });
  }));
}

export async function removePolicy(db: Db, actor: Actor, tenantId: string, policyId: string) {
  await configChange(() => db.$transaction(async (tx) => {
    const p = await tx.routingPolicy.findFirst({ where: { id: policyId, tenantId }, select: { id: true, alias: true } });
    if (!p) throw NotFound("Routing policy");
    const others = await tx.routingPolicy.findMany({ where: { tenantId, id: { not: p.id } }, select: { alias: true, targets: true } });
    const users = others.filter((o) => parseJson<PolicyTarget[]>(o.targets, []).some((t) => t?.type === "alias" && t.alias === p.alias));
    if (users.length) throw Conflict(`The alias ${p.alias} is a target of ${users.map((u) => u.alias).join(", ")}; change those first`, "alias_in_use");
    await tx.routingPolicy.deleteMany({ where: { id: p.id, tenantId } });
    await bumpConfigStamp(tx);
    await recordAudit(tx, actor, { tenantId, action: "routing.remove", targetType: "routing_policy", targetId: p.id, data: { alias: p.alias } });
  }));
}

/** The tenant's enabled aliases this caller may use (within the key's model allowlist), optionally one by name; from the config cache. */
export async function aliasesForPrincipal(db: Db, p: Principal, alias?: string): Promise<{ alias: string; createdAt: Date }[]> {
  const allowed = (a: string) => !p.models || p.models.includes(a);
  if (alias !== undefined) {
    const one = await enabledPolicy(db, p.tenantId, alias);
    return one && allowed(alias) ? [{ alias: one.alias, createdAt: one.createdAt }] : [];
  }
  const all = await cachedConfig(`aliases\0${p.tenantId}`, () =>
    db.routingPolicy.findMany({ where: { tenantId: p.tenantId, enabled: true }, orderBy: { alias: "asc" }, select: { alias: true, createdAt: true } }),
  );
  return p.models ? all.filter((a) => allowed(a.alias)) : all;
}

/** The tenant's enabled policy of that alias, or null, from the in-process config cache (see config-cache.ts). */
export function enabledPolicy(db: Db, tenantId: string, alias: string): Promise<Policy | null> {
  return cachedConfig(`policy\0${tenantId}\0${alias}`, async () => {
    const row = await db.routingPolicy.findFirst({ where: { tenantId, alias, enabled: true }, select: policySelect });
    return row ? toPolicy(row) : null;
  });
}

// ───────────────────────── request-time planning ─────────────────────────

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

function thresholdsOf(p: Policy): number[] {
  const tiers = p.targets.length;
  const cal = p.calibration?.thresholds;
  return cal && cal.length === tiers - 1 ? cal : defaultThresholds(p.strongShare, tiers);
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
    maybeRecalibrate(db, tenantId, policy);
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

// ───────────────────────── embedding feature ─────────────────────────

/** Longest tail of a conversation embedded for routing: the latest turns say most, and small models have small contexts. */
const EMBED_CHARS = 1500;
const exemplarCache = new Map<string, Promise<{ easy: number[]; hard: number[] }>>();

/**
 * How much closer the conversation sits to the built-in hard examples than to the
 * easy ones, with the policy's local embedding model. Routing cost, not the
 * caller's: its tokens are not billed. Null when the model is unusable.
 */
async function embeddingFeature(db: Db, tenantId: string, name: string, req: Pick<GenerateRequest, "messages" | "prompt">): Promise<number | null> {
  const m = await modelForTenant(db, tenantId, name);
  if (!m || m.kind !== "embedding" || isHfUri(m.source)) return null;
  const engine = await engineFor(m);
  const signal = AbortSignal.timeout(5000);
  // Exemplar centroids once per model version and process.
  const cacheKey = `${m.name}@${m.updatedAt.getTime()}`;
  let ex = exemplarCache.get(cacheKey);
  if (!ex) {
    ex = engine.embed(m.name, [...EASY_EXEMPLARS, ...HARD_EXEMPLARS], tenantId, signal).then((r) => ({
      easy: centroid(r.vectors.slice(0, EASY_EXEMPLARS.length)),
      hard: centroid(r.vectors.slice(EASY_EXEMPLARS.length)),
    }));
    exemplarCache.set(cacheKey, ex);
    ex.catch(() => exemplarCache.delete(cacheKey));
  }
  const text = (req.messages ? req.messages.map((x) => `${x.role}: ${contentText(x.content)}`).join("\n") : (req.prompt ?? "")).slice(-EMBED_CHARS);
  const [{ easy, hard }, r] = await Promise.all([ex, engine.embed(m.name, [text || " "], tenantId, signal)]);
  return hardness(r.vectors[0]!, easy, hard);
}

// ───────────────────────── calibration ─────────────────────────

export const CALIBRATION = { windowDays: 7, maxSamples: 5000, minSamples: 50, staleMs: 10 * 60_000 };

/**
 * Recomputes a difficulty policy's thresholds from the scores its recent requests
 * got (recorded in the usage log's route reason), so the chosen share reaches the
 * strongest tier on this tenant's own traffic. Too little history keeps the default.
 */
export async function recalibratePolicy(db: Db, tenantId: string, policyId: string, now = new Date()) {
  const row = await db.routingPolicy.findFirst({ where: { id: policyId, tenantId }, select: policySelect });
  if (!row) throw NotFound("Routing policy");
  const p = toPolicy(row);
  if (p.strategy !== "difficulty") return null;
  const logs = await db.requestLog.findMany({
    where: { tenantId, policyId, createdAt: { gte: new Date(now.getTime() - CALIBRATION.windowDays * 86_400_000) } },
    orderBy: { createdAt: "desc" },
    take: CALIBRATION.maxSamples,
    select: { routeReason: true },
  });
  const scores = logs.map((l) => scoreFromReason(l.routeReason)).filter((s): s is number => s !== null);
  if (scores.length < CALIBRATION.minSamples) return null;
  const calibration: Calibration = { thresholds: calibrate(scores, p.strongShare, p.targets.length), samples: scores.length, at: now.toISOString() };
  // Only if the policy is still the version we calibrated: an edit in between wins.
  await configChange(() =>
    db.$transaction(async (tx) => {
      const { count } = await tx.routingPolicy.updateMany({
        where: { id: p.id, tenantId, version: p.version },
        data: { config: JSON.stringify({ strongShare: p.strongShare, embeddingModel: p.embeddingModel, calibration } satisfies PolicyConfig) },
      });
      if (count) await bumpConfigStamp(tx);
    }),
  );
  return calibration;
}

const lastCalibration = new Map<string, number>();

function maybeRecalibrate(db: Db, tenantId: string, p: Policy) {
  const at = p.calibration ? Date.parse(p.calibration.at) : 0;
  const tried = lastCalibration.get(p.id) ?? 0;
  const now = Date.now();
  if (now - at < CALIBRATION.staleMs || now - tried < CALIBRATION.staleMs) return;
  lastCalibration.set(p.id, now);
  void recalibratePolicy(db, tenantId, p.id).catch((e: unknown) => logger("routing").error(`calibration of ${p.alias} failed: ${(e as Error).message}`));
}
