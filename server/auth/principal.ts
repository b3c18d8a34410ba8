/**
 * Who is calling /api/v1: an API key, or a console user holding a short-lived
 * access token (playground). Both are scoped the same way.
 */
export const API_SCOPES = ["chat", "completions", "embeddings", "models"] as const;
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
}
