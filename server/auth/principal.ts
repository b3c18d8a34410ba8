/**
 * Who is calling /api/v1: an API key, or a console user holding a short-lived
 * access token (playground). Both are scoped the same way.
 */
export const API_SCOPES = ["chat", "completions", "embeddings", "models"] as const;

/** Error codes of /api/v1 requests refused before any work ("denials": the usage log shows the reason). */
export const DENIAL_CODES: readonly string[] = [
  "invalid_api_key",
  "tenant_suspended",
  "insufficient_scope",
  "ip_not_allowed",
  "signature_required",
  "signature_invalid",
  "signature_expired",
  "signature_replayed",
];
export type ApiScope = (typeof API_SCOPES)[number];

export interface Principal {
  kind: "api_key" | "access_token";
  tenantId: string;
  tenantSlug: string;
  tenantStatus: "active" | "suspended";
  /** set for api_key principals */
  apiKeyId: string | null;
  /** set for access_token principals */
  userId: string | null;
  scopes: ApiScope[];
  /** model names this caller may use; null = every model the tenant may use */
  models: string[] | null;
  /** what the limiter enforces (server/ratelimit); read with the credential, so changes apply within a second */
  limits: PrincipalLimits;
  /** IP allowlists and signed requests of an API key (absent: none apply) */
  security?: KeySecurity;
}

/** What the pipeline checks beyond the key itself (server/services/gateway/pipeline.ts). */
export interface KeySecurity {
  /** the caller's address must be in each list that is set: the tenant's and the key's (null = not set) */
  tenantAllowlist: string[] | null;
  keyAllowlist: string[] | null;
  /** signed requests: the sealed secrets that may sign (secret-box); null = signing off */
  signing: { current: string; previous: string | null; previousUntil: number | null } | null;
}

/** One scope's limits; null = no limit of that kind. */
export interface LimitSet {
  rpm: number | null;
  tpm: number | null;
  maxConcurrent: number | null;
  monthlyTokenBudget: number | null;
  /** money budgets, nano-units of SPEND_CURRENCY (safe integers: up to ~9 million units) */
  monthlySpendBudgetNano: number | null;
  dailySpendBudgetNano: number | null;
}

export interface PrincipalLimits {
  tenant: LimitSet & { budgetWarnPercent: number | null };
  /** null for console access tokens (only the tenant's limits apply) */
  key: LimitSet | null;
}

export const NO_LIMITS: LimitSet = {
  rpm: null,
  tpm: null,
  maxConcurrent: null,
  monthlyTokenBudget: null,
  monthlySpendBudgetNano: null,
  dailySpendBudgetNano: null,
};

/** Prisma columns → LimitSet (the budget is a BigInt column; budgets beyond 2^53 tokens are not a concern). */
export function limitSetOf(row: {
  rpmLimit: number | null;
  tpmLimit: number | null;
  maxConcurrent: number | null;
  monthlyTokenBudget: bigint | null;
  monthlySpendBudgetNano?: bigint | null;
  dailySpendBudgetNano?: bigint | null;
}): LimitSet {
  const num = (v: bigint | null | undefined) => (v == null ? null : Number(v));
  return {
    rpm: row.rpmLimit,
    tpm: row.tpmLimit,
    maxConcurrent: row.maxConcurrent,
    monthlyTokenBudget: num(row.monthlyTokenBudget),
    monthlySpendBudgetNano: num(row.monthlySpendBudgetNano),
    dailySpendBudgetNano: num(row.dailySpendBudgetNano),
  };
}

/** The columns limitSetOf reads, for Prisma selects. */
export const limitColumns = {
  rpmLimit: true,
  tpmLimit: true,
  maxConcurrent: true,
  monthlyTokenBudget: true,
  monthlySpendBudgetNano: true,
  dailySpendBudgetNano: true,
} as const;
