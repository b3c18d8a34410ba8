/**
 * Routing policies (a tenant's aliases): versioned CRUD with validation at save
 * time and an audit row per change, and the cached reads request-time planning and
 * /v1/models use. Planning is plan.ts; calibrated thresholds are calibration.ts.
 * Every where has tenantId.
 */
import type { Principal } from "../../auth/principal";
import type { Db, Tx } from "../../db/client";
import { Conflict, Invalid, NotFound, isUniqueViolation } from "../../errors";
import { newId } from "../../lib/ids";
import { type Actor, recordAudit } from "../audit/audit";
import { bumpConfigStamp, cachedConfig, configChange } from "./config-cache";
import {
  type AffinityName,
  CreatePolicyInput,
  type PolicyTarget,
  PolicyTarget as PolicyTargetSchema,
  RestorePolicyInput,
  type StrategyName,
  UpdatePolicyInput,
} from "./schemas";

export const policySelect = {
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

export interface Calibration {
  thresholds: number[];
  samples: number;
  at: string;
}
export interface PolicyConfig {
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
