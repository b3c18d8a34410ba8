import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type { Db } from "../../db/client";
import { AppError, Conflict, Invalid, NotFound, isUniqueViolation } from "../../errors";
import { newId } from "../../lib/ids";
import type { Principal } from "../../auth/principal";
import { type Actor, recordAudit } from "../audit/audit";
import { bumpConfigStamp, cachedConfig, configChange } from "../routing/config-cache";
import { AddModelInput, ModelAccessInput } from "./schemas";

export const modelSelect = {
  id: true,
  name: true,
  source: true,
  kind: true,
  contextSize: true,
  parallel: true,
  threads: true,
  gpuLayers: true,
  chatTemplate: true,
  loadAtStartup: true,
  enabled: true,
  public: true,
  sizeBytes: true,
  state: true,
  lastError: true,
  createdAt: true,
  updatedAt: true,
} as const;

export type ModelRow = Awaited<ReturnType<typeof listModels>>[number];

export function isHfUri(source: string) {
  return source.startsWith("hf:") || source.startsWith("huggingface:");
}

export async function addModel(db: Db, actor: Actor, raw: AddModelInput) {
  const input = AddModelInput.parse(raw);
  let source = input.source;
  let sizeBytes: bigint | null = null;
  if (!isHfUri(source)) {
    source = path.resolve(source);
    if (!existsSync(source) || !statSync(source).isFile()) throw Invalid(`No file at ${source}`, "source", "file_not_found");
    if (!source.toLowerCase().endsWith(".gguf")) throw Invalid("The model file must be a .gguf file", "source");
    sizeBytes = BigInt(statSync(source).size);
  }
  try {
    return await configChange(() => db.$transaction(async (tx) => {
      await bumpConfigStamp(tx);
      const model = await tx.model.create({
        data: {
          id: newId("mdl"),
          name: input.name,
          source,
          kind: input.kind,
          contextSize: input.contextSize,
          parallel: input.kind === "embedding" ? 1 : input.parallel,
          threads: input.threads ?? null,
          chatTemplate: input.chatTemplate ?? null,
          loadAtStartup: input.loadAtStartup,
          sizeBytes,
          state: isHfUri(source) ? "not_downloaded" : "ready",
        },
        select: modelSelect,
      });
      await recordAudit(tx, actor, {
        action: "model.add",
        targetType: "model",
        targetId: model.id,
        data: { name: model.name, source, kind: model.kind },
      });
      return model;
    }));
  } catch (e) {
    if (isUniqueViolation(e)) throw Conflict(`A model named ${input.name} already exists`, "model_exists", "name");
    throw e;
  }
}

export async function listModels(db: Db) {
  return db.model.findMany({ orderBy: { name: "asc" }, select: modelSelect });
}

export async function removeModel(db: Db, actor: Actor, name: string) {
  await configChange(() => db.$transaction(async (tx) => {
    const m = await tx.model.findUnique({ where: { name }, select: { id: true } });
    if (!m) throw NotFound(`Model ${name}`);
    await tx.model.delete({ where: { id: m.id } });
    await bumpConfigStamp(tx);
    await recordAudit(tx, actor, { action: "model.remove", targetType: "model", targetId: m.id, data: { name } });
  }));
}

export async function setModelSource(db: Db, name: string, source: string, sizeBytes: bigint | null) {
  return configChange(() =>
    db.$transaction(async (tx) => {
      await bumpConfigStamp(tx);
      return tx.model.update({ where: { name }, data: { source, sizeBytes, state: "ready", lastError: null }, select: modelSelect });
    }),
  );
}

/** Models this caller may use: enabled, public or granted to the tenant, within the key's allowlist (cached, see config-cache.ts). */
export async function modelsForPrincipal(db: Db, p: Principal) {
  const rows = await cachedConfig(`models\0${p.tenantId}`, () => listModelsForTenant(db, p.tenantId));
  return p.models ? rows.filter((m) => p.models!.includes(m.name)) : rows;
}

/** Models a tenant may use (any key): what its routing policies may target. */
export async function listModelsForTenant(db: Db, tenantId: string) {
  return db.model.findMany({
    where: { enabled: true, OR: [{ public: true }, { grants: { some: { tenantId } } }] },
    orderBy: { name: "asc" },
    select: modelSelect,
  });
}

/**
 * The model a request may use, or the error to answer with: unknown to this
 * tenant → 404 (existence of other tenants' models is not revealed); outside the
 * key's allowlist → 403; not downloaded → 503.
 */
export async function resolveModelFor(db: Db, p: Principal, name: string) {
  const m = await modelForTenant(db, p.tenantId, name);
  if (!m) {
    throw new AppError("not_found", `The model '${name}' does not exist or you do not have access to it`, {
      code: "model_not_found",
      param: "model",
    });
  }
  if (p.models && !p.models.includes(name)) {
    throw new AppError("forbidden", `This API key may not use the model '${name}'`, { code: "model_not_allowed", param: "model" });
  }
  if (isHfUri(m.source)) {
    throw new AppError("unavailable", `The model '${name}' has not been downloaded yet (npm run cli -- model pull ${name})`, {
      code: "model_not_downloaded",
      retryAfter: 60,
    });
  }
  return m;
}

/**
 * The model `name` if this tenant may use it (enabled, public or granted), from the
 * in-process config cache; null otherwise. Callers must not change the row.
 */
export function modelForTenant(db: Db, tenantId: string, name: string): Promise<ModelRow | null> {
  return cachedConfig(`model\0${tenantId}\0${name}`, async () => {
    const m = await db.model.findUnique({
      where: { name },
      select: { ...modelSelect, grants: { where: { tenantId }, select: { id: true } } },
    });
    if (!m || !m.enabled || (!m.public && m.grants.length === 0)) return null;
    const { grants: _grants, ...model } = m;
    return model;
  });
}

/** A model with the tenants it is granted to (platform admin view). */
export async function listModelsWithGrants(db: Db) {
  return db.model.findMany({
    orderBy: { name: "asc" },
    select: { ...modelSelect, grants: { select: { tenantId: true } } },
  });
}

/** Who may use a model: everyone (public) or the listed tenants only. Replaces the grant list. */
export async function setModelAccess(db: Db, actor: Actor, raw: ModelAccessInput) {
  const input = ModelAccessInput.parse(raw);
  const tenantIds = input.public ? [] : [...new Set(input.tenantIds)];
  return configChange(() => db.$transaction(async (tx) => {
    await bumpConfigStamp(tx);
    const m = await tx.model.update({ where: { name: input.name }, data: { public: input.public }, select: { id: true } }).catch((e: unknown) => {
      if ((e as { code?: string }).code === "P2025") throw NotFound(`Model ${input.name}`);
      throw e;
    });
    const known = tenantIds.length ? await tx.tenant.findMany({ where: { id: { in: tenantIds } }, select: { id: true } }) : [];
    if (known.length !== tenantIds.length) throw Invalid("Some of these tenants do not exist", "tenantIds");
    await tx.modelGrant.deleteMany({ where: { modelId: m.id, tenantId: { notIn: tenantIds } } });
    const existing = await tx.modelGrant.findMany({ where: { modelId: m.id }, select: { tenantId: true } });
    const have = new Set(existing.map((g) => g.tenantId));
    const add = tenantIds.filter((t) => !have.has(t));
    if (add.length) await tx.modelGrant.createMany({ data: add.map((tenantId) => ({ id: newId("mgr"), tenantId, modelId: m.id })) });
    await recordAudit(tx, actor, {
      action: "model.access",
      targetType: "model",
      targetId: m.id,
      data: { name: input.name, public: input.public, tenantIds },
    });
    return { name: input.name, public: input.public, tenantIds };
  }));
}
