/**
 * verifyApiKey — the /api/v1 hot path: a raw key → its Principal, or null.
 * (Creating, listing, rotating and revoking keys is services/api-keys; it tells this
 * module when a key changed through forgetApiKeyHash / invalidateApiKeyHash.)
 *
 * Verification cache (per process, in the runtime registry so every bundle shares it):
 *   - positive entries live POSITIVE_TTL_MS (< 1 s) and never past the key's expiresAt,
 *     so a key revoked by another process, or a tenant suspended anywhere, takes
 *     effect within a second everywhere without any cross-process messaging;
 *   - unknown, revoked and expired hashes are cached negatively for NEGATIVE_TTL_MS
 *     (bounded, LRU), so a client hammering with a bad key costs no database work;
 *   - a revoke invalidates this process's entry at once, and a lookup that was
 *     already in flight when a key was revoked does not re-populate the cache.
 * lastUsedAt is written off the request path: ids are batched and flushed with one
 * updateMany every LAST_USED_FLUSH_MS (call flushLastUsed() on shutdown).
 */
import { type Db, db as defaultDb } from "../db/client";
import { IdBatcher } from "../lib/id-batcher";
import { TtlCache } from "../lib/ttl-cache";
import { logger } from "../log/logger";
import { processSlot } from "../runtime/registry";
import { serverKey } from "./derived-keys";
import { hashApiKey, isApiKeyFormat } from "./key-format";
import { API_SCOPES, type ApiScope, type KeySecurity, type Principal, limitColumns, limitSetOf } from "./principal";

/** How long a verified key is trusted without asking the database. Must stay under 1 s. */
export const POSITIVE_TTL_MS = 750;
/** How long an unknown, revoked or expired key is answered "no" from memory. */
export const NEGATIVE_TTL_MS = 5_000;
export const CACHE_MAX_ENTRIES = 10_000;
export const LAST_USED_FLUSH_MS = 5_000;

/** A JSON list column (scopes, models, allowlists); null stays null (= no restriction). */
export function parseJsonList(text: string | null): string[] | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return []; // a corrupt list grants nothing rather than everything
  }
}

export const parseScopes = (text: string): ApiScope[] =>
  (parseJsonList(text) ?? []).filter((s): s is ApiScope => (API_SCOPES as readonly string[]).includes(s));

/** The value stored in ApiKey.hash for a raw key. */
export const apiKeyHash = (key: string) => hashApiKey(key, serverKey("apiKeyHmac"));

interface CachedKey {
  principal: Principal;
  /** ms since the epoch; null = never expires */
  expiresAt: number | null;
}

const positive = processSlot("apiKeys.positive", () => new TtlCache<string, CachedKey>({ maxEntries: CACHE_MAX_ENTRIES, ttlMs: POSITIVE_TTL_MS }));
const negative = processSlot("apiKeys.negative", () => new TtlCache<string, true>({ maxEntries: CACHE_MAX_ENTRIES, ttlMs: NEGATIVE_TTL_MS }));
/** One database lookup per hash at a time: concurrent first requests with the same key share it. */
const inFlight = processSlot("apiKeys.inFlight", () => new Map<string, Promise<CachedKey | null>>());
/** `invalidations` is bumped by every invalidation; a lookup that started before one must not write the cache. */
const state = processSlot("apiKeys.state", () => ({ invalidations: 0 }));

/** Forgets a key in this process and answers "no" for it from now on (revocation is permanent). */
export function invalidateApiKeyHash(hash: string): void {
  forgetApiKeyHash(hash);
  negative.get().set(hash, true);
}

/** Drops this process's cached verification of a key that changed but still works (e.g. a new expiry, new security settings). */
export function forgetApiKeyHash(hash: string): void {
  state.get().invalidations++;
  positive.get().delete(hash);
}

/** Drops every positive entry of this process (a tenant-wide setting changed); other processes follow within POSITIVE_TTL_MS. */
export function forgetVerifiedKeys(): void {
  state.get().invalidations++;
  positive.get().clear();
}

/** Empties this process's verification cache (tests; an operator's "forget everything"). */
export function clearApiKeyCache(): void {
  state.get().invalidations++;
  positive.get().clear();
  negative.get().clear();
  inFlight.get().clear();
}

async function lookup(database: Db, hash: string): Promise<CachedKey | null> {
  const startedAt = state.get().invalidations;
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
  if (startedAt !== state.get().invalidations) {
    // A revoke happened meanwhile: answer this request from what was read, but cache nothing.
    // (The revoke's negative entry already answers later requests; this keeps a stale positive
    // entry out even if that entry is evicted early by a flood of unknown keys.)
    return usable ? toCached(row, expiresAt) : null;
  }
  if (!usable) {
    negative.get().set(hash, true);
    return null;
  }
  const cached = toCached(row, expiresAt);
  positive.get().set(hash, cached, expiresAt === null ? POSITIVE_TTL_MS : expiresAt - now);
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
  const hash = apiKeyHash(rawKey);
  if (negative.get().get(hash)) return null;
  let entry = positive.get().get(hash) ?? null;
  if (!entry) {
    const pendingLookups = inFlight.get();
    let pending = pendingLookups.get(hash);
    if (!pending) {
      pending = lookup(opts.db ?? defaultDb(), hash).finally(() => pendingLookups.delete(hash));
      pendingLookups.set(hash, pending);
    }
    entry = await pending;
  }
  if (!entry || (entry.expiresAt !== null && entry.expiresAt <= Date.now())) return null;
  lastUsed.get().add(entry.principal.apiKeyId!);
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

// one batcher per process: the shutdown flush (registered by startup.ts) must reach the one the /v1 routes fill
const lastUsed = processSlot(
  "apiKeys.lastUsed",
  () =>
    new IdBatcher((ids) => writeLastUsed(defaultDb())(ids), {
      intervalMs: LAST_USED_FLUSH_MS,
      onError: (e) => logger("api-keys").warn({ err: (e as Error).message }, "could not record lastUsedAt (will retry)"),
    }),
);

/** Writes the pending lastUsedAt updates now (one updateMany). For shutdown hooks and tests. */
export function flushLastUsed(opts: { db?: Db } = {}): Promise<void> {
  const batcher = lastUsed.peek();
  if (!batcher) return Promise.resolve();
  return opts.db ? batcher.flush(writeLastUsed(opts.db)) : batcher.flush();
}

/** Key ids waiting for their lastUsedAt write. */
export function pendingLastUsed(): number {
  return lastUsed.peek()?.size ?? 0;
}
