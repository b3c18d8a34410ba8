/**
 * API keys: create (the plaintext is returned once and never stored), list, rotate,
 * revoke. Verifying a key on a request is server/auth/verify-api-key.ts; the changes
 * here tell its per-process cache (forgetApiKeyHash / invalidateApiKeyHash).
 */
import type { Db, Prisma } from "../../db/client";
import { Conflict, NotFound } from "../../errors";
import { newId } from "../../lib/ids";
import { type Actor, recordAudit } from "../audit/audit";
import { openSigningSecret, sealSigningSecret } from "../../auth/secret-box";
import { generateApiKey, keyDisplayPrefix } from "../../auth/key-format";
import { apiKeyHash as hmac, forgetApiKeyHash, invalidateApiKeyHash, parseJsonList, parseScopes } from "../../auth/verify-api-key";
import { CreateApiKeyInput, RevokeApiKeyInput, RotateApiKeyInput, apiKeyStatus } from "./schemas";

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

