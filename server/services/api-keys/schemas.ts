/** Input shapes for API keys — shared by tRPC, the CLI and the console forms (client-safe: zod only). */
import { z } from "zod";
import { normalizeCidr } from "../../auth/ip-allowlist";
import { API_SCOPES, type ApiScope } from "../../auth/principal";

export const ApiKeyName = z.string().trim().min(1, "Enter a name").max(100, "Use at most 100 characters");

const isScope = (s: string): s is ApiScope => (API_SCOPES as readonly string[]).includes(s);

/** A non-empty subset of API_SCOPES, deduplicated, in API_SCOPES order. Errors name the list, not an index. */
export const ApiKeyScopes = z
  .array(z.string().trim(), { message: "Give a list of scopes" })
  .min(1, "Choose at least one scope")
  .superRefine((scopes, ctx) => {
    const unknown = scopes.filter((s) => !isScope(s));
    if (unknown.length) {
      ctx.addIssue({
        code: "custom",
        message: `Unknown scope ${unknown.map((s) => `"${s}"`).join(", ")} (use ${API_SCOPES.join(", ")})`,
      });
    }
  })
  .transform((scopes) => API_SCOPES.filter((s) => scopes.includes(s)));

export const MAX_KEY_MODELS = 100;

/** Model names a key is limited to; absent or null = every model the tenant may use. */
export const ApiKeyModels = z
  .array(z.string().trim(), { message: "Give a list of model names" })
  .min(1, "List at least one model, or leave the list out to allow every model")
  .max(MAX_KEY_MODELS, `List at most ${MAX_KEY_MODELS} models`)
  .superRefine((models, ctx) => {
    if (models.some((m) => m === "")) ctx.addIssue({ code: "custom", message: "Model names cannot be empty" });
    const long = models.find((m) => m.length > 200);
    if (long) ctx.addIssue({ code: "custom", message: `Model name "${long.slice(0, 20)}…" is longer than 200 characters` });
  })
  .transform((models) => [...new Set(models)]);

export const ApiKeyExpiresAt = z
  .date({ message: "Enter a valid date" })
  .refine((d) => d.getTime() > Date.now(), "Choose a time in the future");

export const CreateApiKeyInput = z.object({
  name: ApiKeyName,
  scopes: ApiKeyScopes.default([...API_SCOPES]),
  models: ApiKeyModels.nullish().transform((m) => m ?? null),
  expiresAt: ApiKeyExpiresAt.nullish().transform((d) => d ?? null),
});
export type CreateApiKeyInput = z.input<typeof CreateApiKeyInput>;

export const RevokeApiKeyInput = z.object({ keyId: z.string().min(1, "keyId is required") });
export type RevokeApiKeyInput = z.infer<typeof RevokeApiKeyInput>;

// ---- expiry written as a duration (the CLI's --expires) ----------------------------

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const MAX_EXPIRES_IN_DAYS = 3650;

/**
 * "30d", "12h", "90m" → the Date that long after `now`; null for anything else
 * (zero, a fraction, another unit, more than MAX_EXPIRES_IN_DAYS).
 */
export function parseExpiresIn(value: string, now: number = Date.now()): Date | null {
  const m = /^(\d{1,9})([mhd])$/.exec(value.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms <= 0 || ms > MAX_EXPIRES_IN_DAYS * UNIT_MS.d) return null;
  return new Date(now + ms);
}

export const ExpiresIn = z.string().transform((value, ctx) => {
  const date = parseExpiresIn(value);
  if (!date) {
    ctx.addIssue({
      code: "custom",
      message: `Use a duration like "30d", "12h" or "90m" (at most ${MAX_EXPIRES_IN_DAYS}d)`,
    });
    return z.NEVER;
  }
  return date;
});

// ---- what lists show ----------------------------------------------------------------

export type ApiKeyStatus = "active" | "expired" | "revoked";

export function apiKeyStatus(key: { revokedAt: Date | null; expiresAt: Date | null }, now: number = Date.now()): ApiKeyStatus {
  if (key.revokedAt) return "revoked";
  if (key.expiresAt && key.expiresAt.getTime() <= now) return "expired";
  return "active";
}

/** Longest an old key may keep working after a rotation. */
export const MAX_ROTATION_GRACE_SECONDS = 30 * 24 * 3600;
export const RotateApiKeyInput = z.object({
  keyId: z.string().min(1, "keyId is required"),
  /** how long the old key keeps working; 0 ends it at once */
  graceSeconds: z
    .number({ message: "Enter the grace period in seconds" })
    .int("Use whole seconds")
    .min(0, "The grace period can't be negative")
    .max(MAX_ROTATION_GRACE_SECONDS, "The grace period can be at most 30 days"),
});
export type RotateApiKeyInput = z.infer<typeof RotateApiKeyInput>;

// ---- key security: IP allowlists and signed requests --------------------------------

export const MAX_ALLOWLIST_ENTRIES = 100;

/**
 * CIDRs (IPv4 or IPv6; a bare address is one host), canonicalised and deduplicated.
 * null or an empty list = no allowlist (any address).
 */
export const IpAllowlist = z
  .array(z.string().trim(), { message: "Give a list of addresses or CIDR ranges" })
  .max(MAX_ALLOWLIST_ENTRIES, `List at most ${MAX_ALLOWLIST_ENTRIES} ranges`)
  .transform((entries, ctx) => {
    const out: string[] = [];
    for (const entry of entries.filter(Boolean)) {
      const c = normalizeCidr(entry);
      if (!c) {
        ctx.addIssue({
          code: "custom",
          message: `"${entry.slice(0, 60)}" is not an IP address or CIDR range (e.g. 203.0.113.0/24, 2001:db8::/32; host bits must be zero)`,
        });
        return z.NEVER;
      }
      if (!out.includes(c)) out.push(c);
    }
    return out.length ? out : null;
  })
  .nullable()
  .transform((v) => v ?? null);

/** Text from a form field or the CLI ("10.0.0.0/8, 2001:db8::/32" or one per line) → list entries. */
export function splitAllowlist(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export const SetKeyIpAllowlistInput = z.object({ keyId: z.string().min(1, "keyId is required"), ipAllowlist: IpAllowlist });
export type SetKeyIpAllowlistInput = z.input<typeof SetKeyIpAllowlistInput>;

export const SetTenantIpAllowlistInput = z.object({ ipAllowlist: IpAllowlist });
export type SetTenantIpAllowlistInput = z.input<typeof SetTenantIpAllowlistInput>;

export const KeySigningInput = z.object({ keyId: z.string().min(1, "keyId is required") });
export type KeySigningInput = z.infer<typeof KeySigningInput>;

export const RotateSigningSecretInput = RotateApiKeyInput;
export type RotateSigningSecretInput = z.infer<typeof RotateSigningSecretInput>;
