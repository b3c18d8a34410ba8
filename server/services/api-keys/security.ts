/**
 * Key security settings: signed requests (a per-key signing secret, shown once and
 * stored sealed like backend credentials) and IP allowlists (per key and per tenant).
 * Each change and its audit row are one transaction; audit rows name what changed,
 * never a secret. Verification happens in the gateway pipeline.
 */
import { openSigningSecret, sealSigningSecret } from "../../auth/secret-box";
import { generateSigningSecret } from "../../auth/request-signing";
import type { Db } from "../../db/client";
import { Conflict, NotFound } from "../../errors";
import { type Actor, recordAudit } from "../audit/audit";
import { forgetApiKeyHash, forgetVerifiedKeys } from "../../auth/verify-api-key";
import { type ApiKeyView, apiKeySelect, toApiKeyView } from "./api-keys";
import {
  KeySigningInput,
  RotateSigningSecretInput,
  SetKeyIpAllowlistInput,
  SetTenantIpAllowlistInput,
  apiKeyStatus,
} from "./schemas";

const withHash = { ...apiKeySelect, hash: true, signingPrevEnc: true } as const;

async function activeKey(db: Db, tenantId: string, keyId: string) {
  const row = await db.apiKey.findFirst({ where: { id: keyId, tenantId }, select: withHash });
  if (!row) throw NotFound("API key");
  const status = apiKeyStatus(row);
  if (status !== "active") throw Conflict(`This key is ${status}`, "key_not_active");
  return row;
}

function view(row: Awaited<ReturnType<typeof activeKey>>): ApiKeyView {
  const { hash: _h, signingPrevEnc: _p, ...rest } = row;
  return toApiKeyView(rest);
}

/** Turns signed requests on: issues the signing secret, returned once in `secret`. */
export async function enableSigning(
  db: Db,
  actor: Actor,
  tenantId: string,
  raw: KeySigningInput,
): Promise<{ secret: string; apiKey: ApiKeyView }> {
  const { keyId } = KeySigningInput.parse(raw);
  await activeKey(db, tenantId, keyId);
  const secret = generateSigningSecret();
  const row = await db.$transaction(async (tx) => {
    const { count } = await tx.apiKey.updateMany({
      where: { id: keyId, tenantId, signingSecretEnc: null },
      data: { signingSecretEnc: sealSigningSecret(secret, keyId), signingPrevEnc: null, signingPrevUntil: null },
    });
    if (count !== 1) throw Conflict("Signing is already on for this key; rotate its secret instead", "signing_already_on");
    await recordAudit(tx, actor, { tenantId, action: "api_key.signing_enable", targetType: "api_key", targetId: keyId, data: {} });
    return tx.apiKey.findFirstOrThrow({ where: { id: keyId, tenantId }, select: withHash });
  });
  forgetApiKeyHash(row.hash);
  return { secret, apiKey: view(row) };
}

/** Turns signed requests off and forgets the secrets (enabling again issues a new one). */
export async function disableSigning(db: Db, actor: Actor, tenantId: string, raw: KeySigningInput): Promise<ApiKeyView> {
  const { keyId } = KeySigningInput.parse(raw);
  const row = await db.$transaction(async (tx) => {
    const { count } = await tx.apiKey.updateMany({
      where: { id: keyId, tenantId, NOT: { signingSecretEnc: null } },
      data: { signingSecretEnc: null, signingPrevEnc: null, signingPrevUntil: null },
    });
    const after = await tx.apiKey.findFirst({ where: { id: keyId, tenantId }, select: withHash });
    if (!after) throw NotFound("API key");
    if (count === 1) {
      await recordAudit(tx, actor, { tenantId, action: "api_key.signing_disable", targetType: "api_key", targetId: keyId, data: {} });
    }
    return after;
  });
  forgetApiKeyHash(row.hash);
  return view(row);
}

/**
 * A new signing secret (returned once); the previous one keeps signing for
 * `graceSeconds` (0: at once), so callers can switch without an outage.
 * A previous secret still in its grace is replaced by the one being rotated out.
 */
export async function rotateSigningSecret(
  db: Db,
  actor: Actor,
  tenantId: string,
  raw: RotateSigningSecretInput,
  now: Date = new Date(),
): Promise<{ secret: string; apiKey: ApiKeyView }> {
  const { keyId, graceSeconds } = RotateSigningSecretInput.parse(raw);
  const before = await activeKey(db, tenantId, keyId);
  if (!before.signingSecretEnc) throw Conflict("Signing is off for this key; turn it on first", "signing_off");
  // an unreadable old secret (AUTH_SECRET changed) signs nothing: no grace for it
  const readable = openSigningSecret(before.signingSecretEnc, keyId) !== null;
  const graceEnd = graceSeconds > 0 && readable ? new Date(now.getTime() + graceSeconds * 1000) : null;
  const secret = generateSigningSecret();
  const row = await db.$transaction(async (tx) => {
    const { count } = await tx.apiKey.updateMany({
      // guarded on the secret read above: two concurrent rotations cannot both keep a grace
      where: { id: keyId, tenantId, signingSecretEnc: before.signingSecretEnc },
      data: {
        signingSecretEnc: sealSigningSecret(secret, keyId),
        signingPrevEnc: graceEnd ? before.signingSecretEnc : null,
        signingPrevUntil: graceEnd,
      },
    });
    if (count !== 1) throw Conflict("The signing secret changed meanwhile; try again", "signing_changed");
    await recordAudit(tx, actor, {
      tenantId,
      action: "api_key.signing_rotate",
      targetType: "api_key",
      targetId: keyId,
      data: { previousSecretEndsAt: (graceEnd ?? now).toISOString() },
    });
    return tx.apiKey.findFirstOrThrow({ where: { id: keyId, tenantId }, select: withHash });
  });
  forgetApiKeyHash(row.hash);
  return { secret, apiKey: view(row) };
}

/** Sets (or, with null / an empty list, removes) the key's IP allowlist. */
export async function setKeyIpAllowlist(db: Db, actor: Actor, tenantId: string, raw: SetKeyIpAllowlistInput): Promise<ApiKeyView> {
  const { keyId, ipAllowlist } = SetKeyIpAllowlistInput.parse(raw);
  const row = await db.$transaction(async (tx) => {
    const { count } = await tx.apiKey.updateMany({
      where: { id: keyId, tenantId },
      data: { ipAllowlist: ipAllowlist ? JSON.stringify(ipAllowlist) : null },
    });
    if (count !== 1) throw NotFound("API key");
    await recordAudit(tx, actor, {
      tenantId,
      action: "api_key.ip_allowlist",
      targetType: "api_key",
      targetId: keyId,
      data: { ipAllowlist },
    });
    return tx.apiKey.findFirstOrThrow({ where: { id: keyId, tenantId }, select: withHash });
  });
  forgetApiKeyHash(row.hash);
  return view(row);
}

const parseList = (text: string | null): string[] | null => {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
};

export async function getTenantSecurity(db: Db, tenantId: string): Promise<{ ipAllowlist: string[] | null }> {
  const t = await db.tenant.findUnique({ where: { id: tenantId }, select: { ipAllowlist: true } });
  if (!t) throw NotFound("Tenant");
  return { ipAllowlist: parseList(t.ipAllowlist) };
}

/** Sets (or removes) the tenant's IP allowlist: every key of the tenant must be used from inside it. */
export async function setTenantIpAllowlist(
  db: Db,
  actor: Actor,
  tenantId: string,
  raw: SetTenantIpAllowlistInput,
): Promise<{ ipAllowlist: string[] | null }> {
  const { ipAllowlist } = SetTenantIpAllowlistInput.parse(raw);
  await db.$transaction(async (tx) => {
    const { count } = await tx.tenant.updateMany({
      where: { id: tenantId },
      data: { ipAllowlist: ipAllowlist ? JSON.stringify(ipAllowlist) : null },
    });
    if (count !== 1) throw NotFound("Tenant");
    await recordAudit(tx, actor, { tenantId, action: "tenant.ip_allowlist", targetType: "tenant", targetId: tenantId, data: { ipAllowlist } });
  });
  forgetVerifiedKeys();
  return { ipAllowlist };
}
