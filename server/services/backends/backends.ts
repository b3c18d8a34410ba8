/**
 * Remote OpenAI-compatible backends (platform-wide, managed by platform admins):
 * registration with an encrypted credential, model discovery, health checks and
 * the circuit breaker. The credential is decrypted only to build a RemoteEngine
 * and never leaves this module in a returned row.
 *
 * Health lives in the database (shared by every replica): a request that fails on
 * a backend marks it unhealthy, the router skips it, and only a successful check
 * (periodic, see startHealthChecks, or on demand) makes it healthy again.
 */
import type { Db } from "../../db/client";
import { Conflict, Invalid, NotFound, isUniqueViolation } from "../../errors";
import { newId } from "../../lib/ids";
import { openCredential, sealCredential } from "../../auth/secret-box";
import { type RemoteBackendSpec, RemoteEngine, fetchBackendModels } from "../../inference/remote";
import { processSlot } from "../../runtime/registry";
import { type Actor, recordAudit } from "../audit/audit";
import { bumpConfigStamp, cachedConfig, configChange, configChanged } from "../routing/config-cache";
import { backendModelVision, fetchVisionModels } from "./capabilities";
import { BackendAccessInput, CreateBackendInput, UpdateBackendInput } from "./schemas";
import { logger } from "../../log/logger";

export const backendSelect = {
  id: true,
  name: true,
  kind: true,
  baseUrl: true,
  models: true,
  enabled: true,
  health: true,
  lastCheckedAt: true,
  lastError: true,
  latencyMs: true,
  connectTimeoutMs: true,
  firstTokenTimeoutMs: true,
  totalTimeoutMs: true,
  public: true,
  vision: true,
  visionModels: true,
  createdAt: true,
  updatedAt: true,
  credentialEnc: true,
} as const;

type BackendRowRaw = Awaited<ReturnType<typeof rawBackend>>;
const rawBackend = (db: Db, id: string) => db.backend.findUnique({ where: { id }, select: backendSelect });

function parseModels(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** What may leave the server: no credential, only whether there is one. */
export function publicBackend(b: NonNullable<BackendRowRaw>) {
  const { credentialEnc, models, visionModels, ...rest } = b;
  return { ...rest, models: parseModels(models), visionModels: parseModels(visionModels), hasCredential: credentialEnc !== null };
}
export type PublicBackend = ReturnType<typeof publicBackend>;

/** Whether this backend's `model` takes images: its declaration, else discovery, else null (unknown). */
export function backendVision(b: Pick<NonNullable<BackendRowRaw>, "vision" | "visionModels">, model: string): boolean | null {
  return backendModelVision({ vision: b.vision, visionModels: parseModels(b.visionModels) }, model);
}

export function specOfBackend(b: NonNullable<BackendRowRaw>): RemoteBackendSpec {
  const credential = b.credentialEnc ? openCredential(b.credentialEnc, b.id) : null;
  return {
    id: b.id,
    name: b.name,
    baseUrl: b.baseUrl,
    credential,
    connectTimeoutMs: b.connectTimeoutMs,
    firstTokenTimeoutMs: b.firstTokenTimeoutMs,
    totalTimeoutMs: b.totalTimeoutMs,
  };
}

/**
 * One engine (and so one keep-alive connection pool, see remote.ts) per backend and
 * process, reused by every request. A change to what the engine is built from (URL,
 * credential, timeouts, name) replaces it; the old pool finishes its requests, then closes.
 */
const engines = processSlot("backends.engines", () => new Map<string, { fingerprint: string; engine: RemoteEngine }>()).get();

export function remoteEngineFor(b: NonNullable<BackendRowRaw>): RemoteEngine {
  const fingerprint = [b.name, b.baseUrl, b.credentialEnc ?? "", b.connectTimeoutMs, b.firstTokenTimeoutMs, b.totalTimeoutMs].join("\0");
  const have = engines.get(b.id);
  if (have?.fingerprint === fingerprint) return have.engine;
  have?.engine.close();
  const engine = new RemoteEngine(specOfBackend(b));
  engines.set(b.id, { fingerprint, engine });
  return engine;
}

function disposeEngine(id: string) {
  engines.get(id)?.engine.close();
  engines.delete(id);
}

export async function listBackends(db: Db) {
  const rows = await db.backend.findMany({ orderBy: { name: "asc" }, select: { ...backendSelect, grants: { select: { tenantId: true } } } });
  return rows.map(({ grants, ...b }) => ({ ...publicBackend(b), tenantIds: grants.map((g) => g.tenantId) }));
}

/** The enabled backends a tenant may route to: public ones and those granted to it. */
export async function backendsForTenant(db: Db, tenantId: string) {
  const rows = await db.backend.findMany({
    where: { enabled: true, OR: [{ public: true }, { grants: { some: { tenantId } } }] },
    orderBy: { name: "asc" },
    select: backendSelect,
  });
  return rows.map(publicBackend);
}

/** Who may route to a backend: every tenant (public) or the listed ones. Replaces the grant list. */
export async function setBackendAccess(db: Db, actor: Actor, raw: BackendAccessInput) {
  const input = BackendAccessInput.parse(raw);
  const tenantIds = input.public ? [] : [...new Set(input.tenantIds)];
  return configChange(() => db.$transaction(async (tx) => {
    await bumpConfigStamp(tx);
    const { count } = await tx.backend.updateMany({ where: { id: input.id }, data: { public: input.public } });
    if (count === 0) throw NotFound(`Backend ${input.id}`);
    const known = tenantIds.length ? await tx.tenant.count({ where: { id: { in: tenantIds } } }) : 0;
    if (known !== tenantIds.length) throw Invalid("Some of these tenants do not exist", "tenantIds");
    await tx.backendGrant.deleteMany({ where: { backendId: input.id, tenantId: { notIn: tenantIds } } });
    const have = new Set((await tx.backendGrant.findMany({ where: { backendId: input.id }, select: { tenantId: true } })).map((g) => g.tenantId));
    const add = tenantIds.filter((t) => !have.has(t));
    if (add.length) await tx.backendGrant.createMany({ data: add.map((tenantId) => ({ id: newId("bgr"), tenantId, backendId: input.id })) });
    await recordAudit(tx, actor, { action: "backend.access", targetType: "backend", targetId: input.id, data: { public: input.public, tenantIds } });
    return { id: input.id, public: input.public, tenantIds };
  }));
}

/**
 * Backends by id, for the router (credential included: server-side only). With a
 * tenant, only those it may route to: a grant taken away after an alias was saved
 * makes that target unavailable rather than usable.
 */
/**
 * backendsById for one tenant from the in-process config cache (one entry per backend and
 * tenant): the request path's lookup. Callers must not change the rows.
 */
export async function cachedBackendsById(db: Db, ids: string[], tenantId: string) {
  const out = new Map<string, NonNullable<BackendRowRaw>>();
  for (const id of ids) {
    const row = await cachedConfig(`backend\0${tenantId}\0${id}`, async () => (await backendsById(db, [id], tenantId)).get(id) ?? null);
    if (row) out.set(id, row);
  }
  return out;
}

export async function backendsById(db: Db, ids: string[], tenantId?: string) {
  if (!ids.length) return new Map<string, NonNullable<BackendRowRaw>>();
  const rows = await db.backend.findMany({
    where: { id: { in: ids }, ...(tenantId ? { OR: [{ public: true }, { grants: { some: { tenantId } } }] } : {}) },
    select: backendSelect,
  });
  return new Map(rows.map((r) => [r.id, r]));
}

export async function createBackend(db: Db, actor: Actor, raw: CreateBackendInput) {
  const input = CreateBackendInput.parse(raw);
  const id = newId("bke");
  try {
    await configChange(() => db.$transaction(async (tx) => {
      await bumpConfigStamp(tx);
      await tx.backend.create({
        data: {
          id,
          name: input.name,
          baseUrl: input.baseUrl,
          credentialEnc: input.credential ? sealCredential(input.credential, id) : null,
          models: JSON.stringify([...new Set(input.models)]),
          connectTimeoutMs: input.connectTimeoutMs,
          firstTokenTimeoutMs: input.firstTokenTimeoutMs,
          totalTimeoutMs: input.totalTimeoutMs,
          public: input.public,
          vision: input.vision,
        },
      });
      await recordAudit(tx, actor, {
        action: "backend.create",
        targetType: "backend",
        targetId: id,
        data: { name: input.name, baseUrl: input.baseUrl, credential: input.credential ? "set" : "none", vision: input.vision },
      });
    }));
  } catch (e) {
    if (isUniqueViolation(e)) throw Conflict(`A backend named ${input.name} already exists`, "backend_exists", "name");
    throw e;
  }
  // Discovery is best effort: a backend that is down at registration is saved, marked unhealthy, and retried by checks.
  if (input.discover) await probe(db, id, { adoptModels: true });
  return publicBackend((await rawBackend(db, id))!);
}

export async function updateBackend(db: Db, actor: Actor, raw: UpdateBackendInput) {
  const input = UpdateBackendInput.parse(raw);
  return configChange(() => db.$transaction(async (tx) => {
    await bumpConfigStamp(tx);
    const b = await tx.backend.findUnique({ where: { id: input.id }, select: { id: true, name: true } });
    if (!b) throw NotFound(`Backend ${input.id}`);
    await tx.backend.update({
      where: { id: b.id },
      data: {
        baseUrl: input.baseUrl,
        credentialEnc: input.credential === undefined ? undefined : input.credential === null ? null : sealCredential(input.credential, b.id),
        models: input.models ? JSON.stringify([...new Set(input.models)]) : undefined,
        enabled: input.enabled,
        connectTimeoutMs: input.connectTimeoutMs,
        firstTokenTimeoutMs: input.firstTokenTimeoutMs,
        totalTimeoutMs: input.totalTimeoutMs,
        vision: input.vision,
      },
    });
    const { credential, id: _id, ...changed } = input;
    await recordAudit(tx, actor, {
      action: "backend.update",
      targetType: "backend",
      targetId: b.id,
      data: { name: b.name, ...changed, ...(credential !== undefined ? { credential: credential === null ? "removed" : "replaced" } : {}) },
    });
    return publicBackend((await tx.backend.findUnique({ where: { id: b.id }, select: backendSelect }))!);
  }));
}

export async function removeBackend(db: Db, actor: Actor, id: string) {
  await configChange(() => db.$transaction(async (tx) => {
    const b = await tx.backend.findUnique({ where: { id }, select: { id: true, name: true } });
    if (!b) throw NotFound(`Backend ${id}`);
    // Targets are JSON; the id is unique and prefixed, so a substring match finds every policy using it.
    const using = await tx.routingPolicy.count({ where: { targets: { contains: `"${b.id}"` } } });
    if (using > 0) throw Conflict(`Backend ${b.name} is a target of ${using} routing polic${using === 1 ? "y" : "ies"}; change them first`, "backend_in_use");
    await tx.backend.delete({ where: { id: b.id } });
    await bumpConfigStamp(tx);
    await recordAudit(tx, actor, { action: "backend.remove", targetType: "backend", targetId: b.id, data: { name: b.name } });
  }));
  disposeEngine(id);
}

/**
 * Checks a backend now (GET /models) and records the result; `adoptModels` replaces its
 * model list and the models it says take images (read from the same /models answer,
 * best effort: if that second read fails the previous list is kept).
 */
async function probe(db: Db, id: string, opts: { adoptModels: boolean; /** the caller announces changes itself (a round of checks: once) */ quiet?: { changed: boolean } }) {
  const announce = async () => {
    if (opts.quiet) opts.quiet.changed = true;
    else await configChanged(db);
  };
  const b = await rawBackend(db, id);
  if (!b) throw NotFound(`Backend ${id}`);
  const started = Date.now();
  try {
    const spec = specOfBackend(b);
    const models = await fetchBackendModels(spec);
    const latencyMs = Date.now() - started;
    const vision = opts.adoptModels ? await fetchVisionModels(spec) : null;
    await db.backend.update({
      where: { id },
      data: {
        health: "healthy",
        lastCheckedAt: new Date(),
        lastError: null,
        latencyMs,
        ...(opts.adoptModels ? { models: JSON.stringify(models) } : {}),
        ...(vision ? { visionModels: JSON.stringify(vision.filter((m) => models.includes(m))) } : {}),
      },
    });
    // routing only sees health and the model lists: a check that changes neither is no news for the replicas
    if (b.health !== "healthy" || opts.adoptModels) await announce();
    return { ok: true as const, models };
  } catch (e) {
    await db.backend.update({
      where: { id },
      data: { health: "unhealthy", lastCheckedAt: new Date(), lastError: (e as Error).message.slice(0, 500), latencyMs: null },
    });
    if (b.health !== "unhealthy") await announce();
    return { ok: false as const, error: (e as Error).message };
  }
}

export async function checkBackend(db: Db, actor: Actor, id: string) {
  const r = await probe(db, id, { adoptModels: false });
  await recordAudit(db, actor, { action: "backend.check", targetType: "backend", targetId: id, data: { ok: r.ok } });
  return publicBackend((await rawBackend(db, id))!);
}

export async function discoverBackendModels(db: Db, actor: Actor, id: string) {
  const r = await probe(db, id, { adoptModels: true });
  if (!r.ok) throw Invalid(`Could not list the backend's models: ${r.error}`, "id", "backend_unreachable");
  const b = publicBackend((await rawBackend(db, id))!);
  await recordAudit(db, actor, { action: "backend.discover", targetType: "backend", targetId: id, data: { models: r.models.length, visionModels: b.visionModels.length } });
  return b;
}

/** Circuit breaker: a request failed on this backend in a way that says the backend is failing. */
export async function markBackendUnhealthy(db: Db, id: string, error: string) {
  try {
    // only a change of health is news for the routers (a failing backend under load fails many requests)
    const { count } = await db.backend.updateMany({ where: { id, health: { not: "unhealthy" } }, data: { health: "unhealthy", lastError: error.slice(0, 500) } });
    if (count) await configChanged(db);
  } catch {
    /* best effort: the periodic check sees the backend failing too */
  }
}

/** Health checks in flight at once during a round. */
export const CHECK_CONCURRENCY = 16;

/** Checks every enabled backend (the periodic checker's one round). */
export async function checkAllBackends(db: Db) {
  const rows = await db.backend.findMany({ where: { enabled: true }, select: { id: true } });
  // one announcement for the round: thousands of backends turning healthy drop the routing caches once, not thousands of times
  const quiet = { changed: false };
  // a few at a time: ten thousand backends must not mean ten thousand sockets and queries at once
  let next = 0;
  const worker = async () => {
    while (next < rows.length) await probe(db, rows[next++]!.id, { adoptModels: false, quiet }).catch(() => {});
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, rows.length) }, worker));
  if (quiet.changed) await configChanged(db);
}

const healthTimer = processSlot<NodeJS.Timeout | undefined>("backends.healthTimer", () => undefined);

/**
 * Periodic health checks in the server process; idempotent. `housekeeping` runs in the
 * same round (e.g. purging expired stored responses) — the server's one periodic timer.
 */
export function startHealthChecks(db: Db, intervalMs = 15_000, housekeeping: ((db: Db) => Promise<unknown>)[] = []) {
  if (healthTimer.peek()) return;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const chores = housekeeping.map((job) => job(db).catch((e: unknown) => logger("housekeeping").error((e as Error).message)));
    void Promise.all([checkAllBackends(db), ...chores]).finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  healthTimer.set(timer);
}

export function stopHealthChecks() {
  const timer = healthTimer.clear();
  if (timer) clearInterval(timer);
}
