/** `key create | list | revoke`: a tenant's API keys (the key itself is printed once, at creation). */
import { z } from "zod";
import { API_SCOPES } from "../../auth/principal";
import { type ApiKeyView, createApiKey, getApiKey, listApiKeys, revokeApiKey } from "../../services/api-keys/api-keys";
import { ExpiresIn } from "../../services/api-keys/schemas";
import { CLI_ACTOR } from "../../services/audit/audit";
import { findTenantBySlug } from "../../services/tenants/tenants";
import { req, str } from "../args";
import { tenantFlag } from "../flags";
import { shortDate, table } from "../format";
import type { Command } from "../registry";

/** "a, b,,c" → ["a", "b", "c"]; undefined when the flag was not given. */
const csv = (value: string | undefined) =>
  value === undefined ? undefined : value.split(",").map((s) => s.trim()).filter(Boolean);

const keySummary = (k: ApiKeyView) =>
  `scopes: ${k.scopes.join(", ")}; models: ${k.models ? k.models.join(", ") : "all"}; expires: ${k.expiresAt ? shortDate(k.expiresAt) + " UTC" : "never"}`;

export const keyCommands: readonly Command[] = [
  {
    path: ["key", "create"],
    summary: "Create an API key for a tenant (the key is printed once)",
    flags: {
      tenant: tenantFlag,
      name: { type: "string", value: "NAME", required: true, description: "What the key is for, e.g. \"billing service\"" },
      scopes: {
        type: "string",
        value: "LIST",
        description: `Comma-separated scopes from: ${API_SCOPES.join(", ")} (default: all)`,
      },
      models: { type: "string", value: "LIST", description: "Comma-separated model names the key may use (default: all)" },
      expires: { type: "string", value: "DURATION", description: 'Expire after e.g. "30d", "12h" or "90m" (default: never)' },
    },
    async run(ctx, flags) {
      const expires = str(flags, "expires");
      const expiresAt = expires === undefined ? null : z.object({ expires: ExpiresIn }).parse({ expires }).expires;
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const { key, apiKey } = await createApiKey(ctx.db(), CLI_ACTOR, tenant.id, {
        name: req(flags, "name"),
        scopes: csv(str(flags, "scopes")),
        models: csv(str(flags, "models")) ?? null,
        expiresAt,
      });
      const text = [
        `created API key "${apiKey.name}" (${apiKey.id}) in tenant ${tenant.slug}`,
        `  ${keySummary(apiKey)}`,
        "",
        `key: ${key}`,
        "",
        "Copy the key now: it is shown only this once and cannot be recovered (only revoked).",
      ].join("\n");
      return { text, json: { key, ...apiKey, tenant: { id: tenant.id, slug: tenant.slug } } };
    },
  },
  {
    path: ["key", "list"],
    summary: "List a tenant's API keys (prefixes only; keys are never stored)",
    flags: { tenant: tenantFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const keys = await listApiKeys(ctx.db(), tenant.id);
      const text = keys.length
        ? table(
            ["NAME", "PREFIX", "SCOPES", "MODELS", "STATUS", "EXPIRES", "LAST USED", "CREATED", "ID"],
            keys.map((k) => [
              k.name,
              `${k.prefix}…`,
              k.scopes.join(","),
              k.models ? k.models.join(",") : "all",
              k.status,
              shortDate(k.expiresAt),
              shortDate(k.lastUsedAt),
              shortDate(k.createdAt),
              k.id,
            ]),
          )
        : `tenant ${tenant.slug} has no API keys`;
      return { text, json: keys };
    },
  },
  {
    path: ["key", "revoke"],
    summary: "Revoke an API key: it stops working within a second",
    flags: { tenant: tenantFlag, id: { type: "string", value: "KEY_ID", required: true, description: "The key's id (key_…)" } },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const before = await getApiKey(ctx.db(), tenant.id, req(flags, "id"));
      const apiKey = await revokeApiKey(ctx.db(), CLI_ACTOR, tenant.id, { keyId: before.id });
      const text = before.revokedAt
        ? `API key ${apiKey.id} ("${apiKey.name}") was already revoked on ${shortDate(before.revokedAt)} UTC`
        : `revoked API key ${apiKey.id} ("${apiKey.name}") in tenant ${tenant.slug}`;
      return { text, json: { ...apiKey, alreadyRevoked: before.revokedAt !== null } };
    },
  },
];
