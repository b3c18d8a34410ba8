/**
 * API keys: create (the plaintext is returned once and never stored), list, revoke,
 * and verifyApiKey — the /api/v1 hot path.
 *
 * Verification cache (per process):
 *   - positive entries live POSITIVE_TTL_MS (< 1 s) and never past the key's expiresAt,
 *     so a key revoked by another process, or a tenant suspended anywhere, takes
 *     effect within a second everywhere without any cross-process messaging;
 *   - unknown, revoked and expired hashes are cached negatively for NEGATIVE_TTL_MS
 *     (bounded, LRU), so a client hammering with a bad key costs no database work;
 *   - revokeApiKey invalidates this process's entry at once, and a lookup that was
 *     already in flight when a key was revoked does not re-populate the cache.
 * lastUsedAt is written off the request path: ids are batched and flushed with one
 * updateMany every LAST_USED_FLUSH_MS (call flushLastUsed() on shutdown).
 */
import type { ApiScope, KeySecurity, Principal } from "../../auth/principal";
import { API_SCOPES, limitColumns, limitSetOf } from "../../auth/principal";
import { serverKey } from "../../auth/derived-keys";
import { type Db, type Prisma, db as defaultDb } from "../../db/client";
import { Conflict, NotFound } from "../../errors";
import { IdBatcher } from "../../lib/id-batcher";
import { newId } from "../../lib/ids";
import { TtlCache } from "../../lib/ttl-cache";
import { type Actor, recordAudit } from "../audit/audit";
import { openSigningSecret, sealSigningSecret } from "../../auth/secret-box";
import { generateApiKey, hashApiKey, isApiKeyFormat, keyDisplayPrefix } from "./key-format";
import { CreateApiKeyInput, RevokeApiKeyInput, RotateApiKeyInput, apiKeyStatus } from "./schemas";
import { logger } from "../../log/logger";

/** Everything about a key that may leave the server — never `hash`. */
export const apiKeySelect = {
  id: true,
  tenantId: true,
  name: true,
  prefix: true,
  scopes: true,
  models: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  rotatedFromId: true,
  ipAllowlist: true,
  // read only to say whether signing is on: toApiKeyView drops it
  signingSecretEnc: true,
  signingPrevUntil: true,
  createdById: true,
  createdAt: true,
} as const satisfies Prisma.ApiKeySelect;

type ApiKeyRow = Prisma.ApiKeyGetPayload<{ select: typeof apiKeySelect }>;

function parseJsonList(text: string | null): string[] | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return []; // a corrupt list grants nothing rather than everything
  }
}

const parseScopes = (text: string): ApiScope[] =>
  (parseJsonList(text) ?? []).filter((s): s is ApiScope => (API_SCOPES as readonly string[]).includes(s));

/** The shape lists and the console see: lists decoded, status computed. */
export function toApiKeyView(row: ApiKeyRow, now: number = Date.now()) {
  const { signingSecretEnc, signingPrevUntil, ipAllowlist, ...rest } = row;
  return {
    ...rest,
    scopes: parseScopes(row.scopes),
    models: parseJsonList(row.models),
    status: apiKeyStatus(row, now),
    /** CIDRs this key may be used from; null = any */
    ipAllowlist: parseJsonList(ipAllowlist),
    /** signed requests required (the secret itself never leaves the server after it was shown once) */
    signingRequired: signingSecretEnc !== null,
    /** after a secret rotation: until when the previous secret still signs */
    signingPreviousUntil: signingPrevUntil && signingPrevUntil.getTime() > now ? signingPrevUntil : null,
  };
}
export type ApiKeyView = ReturnType<typeof toApiKeyView>;

const hmac = (key: string) => hashApiKey(key, serverKey("apiKeyHmac"));

/** Prisma's foreign-key violation (here: the tenant does not exist). */
const isForeignKeyViolation = (e: unknown) =>
  typeof e === "object" && e !== null && (e as { code?: unknown }).code === "P2003";

// ---- admin operations -------------------------------------------------------------

/** Creates a key. `key` is the only copy of the plaintext: show it once, never log it. */
export async function createApiKey(
  db: Db,
  actor: Actor,
  tenantId: string,
  raw: CreateApiKeyInput,
): Promise<{ key: string; apiKey: ApiKeyView }> {
  const input = CreateApiKeyInput.parse(raw);
  const key = generateApiKey();
  // Write first, read nothing before: on SQLite a transaction that reads and then writes fails at
  // once (SQLITE_BUSY) when another connection wrote in between; a leading write waits its turn.
  const row = await db
    .$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: {
          id: newId("key"),
          tenantId,
          name: input.name,
          prefix: keyDisplayPrefix(key),
          hash: hmac(key),
          scopes: JSON.stringify(input.scopes),
          models: input.models ? JSON.stringify(input.models) : null,
          expiresAt: input.expiresAt,
          createdById: actor.userId,
        },
        select: apiKeySelect,
      });
      await recordAudit(tx, actor, {
        tenantId,
        action: "api_key.create",
        targetType: "api_key",
        targetId: created.id,
        // identifying details only: never the key or its hash
        data: {
          name: created.name,
          prefix: created.prefix,
          scopes: input.scopes,
          models: input.models,
          expiresAt: input.expiresAt?.toISOString() ?? null,
        },
      });
      return created;
    })
    .catch((e: unknown) => {
      if (isForeignKeyViolation(e)) throw NotFound("Tenant");
      throw e;
    });
  return { key, apiKey: toApiKeyView(row) };
}

/** A tenant's keys, newest first. */
export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyView[]> {
  const rows = await db.apiKey.findMany({
    where: { tenantId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    select: apiKeySelect,
  });
  const now = Date.now();
  return rows.map((r) => toApiKeyView(r, now));
}

/** One key of a tenant; another tenant's key is NOT_FOUND. */
export async function getApiKey(db: Db, tenantId: string, keyId: string): Promise<ApiKeyView> {
  const row = await db.apiKey.findFirst({ where: { id: keyId, tenantId }, select: apiKeySelect });
  if (!row) throw NotFound("API key");
  return toApiKeyView(row);
}

/**
 * Revokes a key: it stops verifying at once in this process and within
 * POSITIVE_TTL_MS in every other. Revoking an already revoked key changes nothing
 * (revokedAt keeps its first value, no audit row) and returns the key — so a retried
 * or double-clicked revoke is not an error.
 */
export async function revokeApiKey(db: Db, actor: Actor, tenantId: string, raw: RevokeApiKeyInput): Promise<ApiKeyView> {
  const { keyId } = RevokeApiKeyInput.parse(raw);
  const { row, hash } = await db.$transaction(async (tx) => {
    // the write comes first (see createApiKey); it matches nothing for another tenant's key
    const { count } = await tx.apiKey.updateMany({
      where: { id: keyId, tenantId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    const after = await tx.apiKey.findFirst({ where: { id: keyId, tenantId }, select: { ...apiKeySelect, hash: true } });
    if (!after) throw NotFound("API key");
    const { hash, ...row } = after;
    // count 0: it was already revoked (by an earlier call, or a concurrent one that wrote its own audit row)
    if (count === 1) {
      await recordAudit(tx, actor, {
        tenantId,
        action: "api_key.revoke",
        targetType: "api_key",
        targetId: keyId,
        data: { name: row.name, prefix: row.prefix },
      });
    }
    return { row, hash };
  });
  invalidateApiKeyHash(hash);
  return toApiKeyView(row);
}

/**
 * Rotates a key: a new key with the same name, scopes, models and expiry, and the
 * old one ends after `graceSeconds` (never later than it would have anyway), so
 * callers can switch over without an outage. The new plaintext is returned once.
 */
export async function rotateApiKey(
  db: Db,
  actor: Actor,
  tenantId: string,
  raw: RotateApiKeyInput,
  now: Date = new Date(),
): Promise<{ key: string; apiKey: ApiKeyView; previous: ApiKeyView }> {
  const { keyId, graceSeconds } = RotateApiKeyInput.parse(raw);
  // Read outside the transaction (see createApiKey on why transactions write first);
  // the guarded update below re-checks that the key is still active.
  const before = await db.apiKey.findFirst({
    where: { id: keyId, tenantId },
    select: { ...apiKeySelect, rpmLimit: true, tpmLimit: true, maxConcurrent: true, monthlyTokenBudget: true, monthlySpendBudgetNano: true, dailySpendBudgetNano: true },
  });
  if (!before) throw NotFound("API key");
  const status = apiKeyStatus(before, now.getTime());
  if (status !== "active") {
    throw Conflict(`This key is ${status}; only an active key can be rotated`, "key_not_active");
  }
  const key = generateApiKey();
  const graceEnd = new Date(now.getTime() + graceSeconds * 1000);
  const oldEnd = before.expiresAt && before.expiresAt < graceEnd ? before.expiresAt : graceEnd;
  const freshId = newId("key");
  // the replacement keeps the key's security settings; its signing secret is re-sealed to the new row
  const secret = before.signingSecretEnc ? openSigningSecret(before.signingSecretEnc, before.id) : null;
  if (before.signingSecretEnc && !secret) {
    // never hand out a replacement that silently drops the signing requirement
    throw Conflict("This key's signing secret cannot be read (AUTH_SECRET changed?); rotate the signing secret first", "signing_secret_unreadable");
  }
  const { created, previous, hash } = await db.$transaction(async (tx) => {
    const { count } = await tx.apiKey.updateMany({
      where: { id: keyId, tenantId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      data: { expiresAt: oldEnd },
    });
    if (count !== 1) throw Conflict("This key was revoked or expired meanwhile", "key_not_active");
    const fresh = await tx.apiKey.create({
      data: {
        id: freshId,
        tenantId,
        name: before.name,
        ipAllowlist: before.ipAllowlist,
        signingSecretEnc: secret ? sealSigningSecret(secret, freshId) : null,
        prefix: keyDisplayPrefix(key),
        hash: hmac(key),
        scopes: before.scopes,
        models: before.models,
        rpmLimit: before.rpmLimit,
        tpmLimit: before.tpmLimit,
        maxConcurrent: before.maxConcurrent,
        monthlyTokenBudget: before.monthlyTokenBudget,
        monthlySpendBudgetNano: before.monthlySpendBudgetNano,
        dailySpendBudgetNano: before.dailySpendBudgetNano,
        // the replacement ends when the old key would have
        expiresAt: before.expiresAt,
        rotatedFromId: before.id,
        createdById: actor.userId,
      },
      select: apiKeySelect,
    });
    const prev = await tx.apiKey.findFirst({ where: { id: keyId, tenantId }, select: { ...apiKeySelect, hash: true } });
    await recordAudit(tx, actor, {
      tenantId,
      action: "api_key.rotate",
      targetType: "api_key",
      targetId: before.id,
      data: { name: before.name, prefix: before.prefix, newKeyId: fresh.id, newPrefix: fresh.prefix, oldKeyEndsAt: oldEnd.toISOString() },
    });
    const { hash, ...rest } = prev!;
    return { created: fresh, previous: rest, hash };
  });
  // This process's cached verification of the old key must see its new expiry now.
  forgetApiKeyHash(hash);
  return { key, apiKey: toApiKeyView(created, now.getTime()), previous: toApiKeyView(previous, now.getTime()) };
}

// ---- verification (the /api/v1 hot path) ------------------------------------------

/** How long a verified key is trusted without asking the database. Must stay under 1 s. */
export const POSITIVE_TTL_MS = 750;
/** How long an unknown, revoked or expired key is answered "no" from memory. */
export const NEGATIVE_TTL_MS = 5_000;
export const CACHE_MAX_ENTRIES = 10_000;
export const LAST_USED_FLUSH_MS = 5_000;

interface CachedKey {
  principal: Principal;
  /** ms since the epoch; null = never expires */
  expiresAt: number | null;
}

const positive = new TtlCache<string, CachedKey>({ maxEntries: CACHE_MAX_ENTRIES, ttlMs: POSITIVE_TTL_MS });
const negative = new TtlCache<string, true>({ maxEntries: CACHE_MAX_ENTRIES, ttlMs: NEGATIVE_TTL_MS });
/** One database lookup per hash at a time: concurrent first requests with the same key share it. */
const inFlight = new Map<string, Promise<CachedKey | null>>();
/** Bumped by every invalidation; a lookup that started before one must not write the cache. */
let invalidations = 0;

/** Forgets a key in this process and answers "no" for it from now on (revocation is permanent). */
function invalidateApiKeyHash(hash: string): void {
  forgetApiKeyHash(hash);
  negative.set(hash, true);
}

/** Drops this process's cached verification of a key that changed but still works (e.g. a new expiry, new security settings). */
export function forgetApiKeyHash(hash: string): void {
  invalidations++;
  positive.delete(hash);
}

/** Drops every positive entry of this process (a tenant-wide setting changed); other processes follow within POSITIVE_TTL_MS. */
export function forgetVerifiedKeys(): void {
  invalidations++;
  positive.clear();
}

/** Empties this process's verification cache (tests; an operator's "forget everything"). */
export function clearApiKeyCache(): void {
  invalidations++;
  positive.clear();
  negative.clear();
  inFlight.clear();
}

async function lookup(database: Db, hash: string): Promise<CachedKey | null> {
  const startedAt = invalidations;
  // the hash alone names the key (and so the tenant): this is the one lookup without tenantId
  const row = await database.apiKey.findUnique({
    where: { hash },
    select: {
      id: true,
      tenantId: true,
      scopes: true,
      models: true,
      expiresAt: true,
      revokedAt: true,
      ipAllowlist: true,
      signingSecretEnc: true,
      signingPrevEnc: true,
      signingPrevUntil: true,
      ...limitColumns,
      tenant: { select: { slug: true, status: true, budgetWarnPercent: true, ipAllowlist: true, ...limitColumns } },
    },
  });
  const now = Date.now();
  const expiresAt = row?.expiresAt ? row.expiresAt.getTime() : null;
  const usable = row && !row.revokedAt && (expiresAt === null || expiresAt > now);
  if (startedAt !== invalidations) {
    // A revoke happened meanwhile: answer this request from what was read, but cache nothing.
    // (The revoke's negative entry already answers later requests; this keeps a stale positive
    // entry out even if that entry is evicted early by a flood of unknown keys.)
    return usable ? toCached(row, expiresAt) : null;
  }
  if (!usable) {
    negative.set(hash, true);
    return null;
  }
  const cached = toCached(row, expiresAt);
  positive.set(hash, cached, expiresAt === null ? POSITIVE_TTL_MS : expiresAt - now);
  return cached;
}

type LimitRow = Parameters<typeof limitSetOf>[0];

/** The key's allowlists and sealed signing secrets; null when none of them is set. */
function securityOf(row: {
  ipAllowlist: string | null;
  signingSecretEnc: string | null;
  signingPrevEnc: string | null;
  signingPrevUntil: Date | null;
  tenant: { ipAllowlist: string | null };
}): KeySecurity | null {
  const tenantAllowlist = parseJsonList(row.tenant.ipAllowlist);
  const keyAllowlist = parseJsonList(row.ipAllowlist);
  const signing = row.signingSecretEnc
    ? {
        current: row.signingSecretEnc,
        previous: row.signingPrevEnc,
        previousUntil: row.signingPrevUntil ? row.signingPrevUntil.getTime() : null,
      }
    : null;
  if (!tenantAllowlist && !keyAllowlist && !signing) return null;
  return { tenantAllowlist, keyAllowlist, signing };
}

function toCached(
  row: {
    id: string;
    tenantId: string;
    scopes: string;
    models: string | null;
    ipAllowlist: string | null;
    signingSecretEnc: string | null;
    signingPrevEnc: string | null;
    signingPrevUntil: Date | null;
    tenant: { slug: string; status: "active" | "suspended"; budgetWarnPercent: number | null; ipAllowlist: string | null } & LimitRow;
  } & LimitRow,
  expiresAt: number | null,
): CachedKey {
  const principal: Principal = {
    kind: "api_key",
    tenantId: row.tenantId,
    tenantSlug: row.tenant.slug,
    tenantStatus: row.tenant.status,
    apiKeyId: row.id,
    userId: null,
    scopes: parseScopes(row.scopes),
    models: parseJsonList(row.models),
    limits: {
      tenant: { ...limitSetOf(row.tenant), budgetWarnPercent: row.tenant.budgetWarnPercent },
      key: limitSetOf(row),
    },
  };
  const security = securityOf(row);
  if (security) principal.security = security;
  return { principal, expiresAt };
}

/**
 * The principal for a raw API key, or null when the key is malformed, unknown,
 * revoked or expired. A suspended tenant's key still resolves (tenantStatus
 * "suspended") so the caller can answer 403 rather than 401.
 * `opts.db` exists for tests (e.g. a client that counts queries).
 */
export async function verifyApiKey(rawKey: string, opts: { db?: Db } = {}): Promise<Principal | null> {
  if (!isApiKeyFormat(rawKey)) return null;
  const hash = hmac(rawKey);
  if (negative.get(hash)) return null;
  let entry = positive.get(hash) ?? null;
  if (!entry) {
    let pending = inFlight.get(hash);
    if (!pending) {
      pending = lookup(opts.db ?? defaultDb(), hash).finally(() => inFlight.delete(hash));
      inFlight.set(hash, pending);
    }
    entry = await pending;
  }
  if (!entry || (entry.expiresAt !== null && entry.expiresAt <= Date.now())) return null;
  lastUsed.add(entry.principal.apiKeyId!);
  const p = entry.principal;
  // a copy: callers may not alter what the cache holds
  return {
    ...p,
    scopes: [...p.scopes],
    models: p.models ? [...p.models] : null,
    limits: { tenant: { ...p.limits.tenant }, key: p.limits.key ? { ...p.limits.key } : null },
    ...(p.security ? { security: structuredClone(p.security) } : {}),
  };
}

// ---- lastUsedAt, off the request path ---------------------------------------------

function writeLastUsed(database: Db) {
  return async (ids: string[]) => {
    // ids come from keys this process just verified; no tenant input is involved
    await database.apiKey.updateMany({ where: { id: { in: ids } }, data: { lastUsedAt: new Date() } });
  };
}

const lastUsed = new IdBatcher((ids) => writeLastUsed(defaultDb())(ids), {
  intervalMs: LAST_USED_FLUSH_MS,
  onError: (e) => logger("api-keys").warn(`could not record lastUsedAt (will retry): ${(e as Error).message}`),
});

/** Writes the pending lastUsedAt updates now (one updateMany). For shutdown hooks and tests. */
export function flushLastUsed(opts: { db?: Db } = {}): Promise<void> {
  return opts.db ? lastUsed.flush(writeLastUsed(opts.db)) : lastUsed.flush();
}

/** Key ids waiting for their lastUsedAt write. */
export function pendingLastUsed(): number {
  return lastUsed.size;
}
