/**
 * `tenant allowlist`, `key allowlist` and `key signing`: IP allowlists (CIDRs, IPv4
 * and IPv6) and signed requests. Secrets are printed once, on --on and --rotate.
 * Listed in commands/index.ts.
 */
import { getApiKey } from "../../services/api-keys/api-keys";
import { splitAllowlist } from "../../services/api-keys/schemas";
import {
  disableSigning,
  enableSigning,
  getTenantSecurity,
  rotateSigningSecret,
  setKeyIpAllowlist,
  setTenantIpAllowlist,
} from "../../services/api-keys/security";
import { CLI_ACTOR } from "../../services/audit/audit";
import { findTenantBySlug } from "../../services/tenants/tenants";
import { type FlagSpec, type Flags, str } from "../args";
import type { Command } from "../registry";
import { tenantFlag } from "../flags";
import { CliError } from "../format";


const listFlags: Record<string, FlagSpec> = {
  set: { type: "string", value: "CIDRS", description: 'Comma-separated addresses or CIDR ranges, e.g. "203.0.113.0/24,2001:db8::/32"' },
  clear: { type: "boolean", description: "Remove the allowlist (any address)" },
};
const listOneOf = [{ flags: ["set", "clear"], required: false }] as const;

/** undefined = show only; null = clear */
function listOf(flags: Flags): string[] | null | undefined {
  if (flags.clear === true) return null;
  const set = str(flags, "set");
  if (set === undefined) return undefined;
  const entries = splitAllowlist(set);
  if (!entries.length) throw new CliError('--set: give at least one address or range (or --clear)');
  return entries;
}

const showList = (l: string[] | null) => (l ? l.join(", ") : "any address");

const secretText = (what: string, secret: string) =>
  [what, "", `signing secret: ${secret}`, "", "Copy the secret now: it is shown only this once. Sign every request with it (see the docs: Signed requests)."].join(
    "\n",
  );

export const securityCommands: Command[] = [
  {
    path: ["tenant", "allowlist"],
    summary: "Show or set the IP allowlist every API key of a tenant must be used from",
    flags: { slug: tenantFlag, ...listFlags },
    oneOf: listOneOf,
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "slug")!);
      const list = listOf(flags);
      const view =
        list === undefined
          ? await getTenantSecurity(ctx.db(), tenant.id)
          : await setTenantIpAllowlist(ctx.db(), CLI_ACTOR, tenant.id, { ipAllowlist: list });
      const verb = list === undefined ? "IP allowlist of" : "updated IP allowlist of";
      return { text: `${verb} tenant ${tenant.slug}: ${showList(view.ipAllowlist)}`, json: { tenant: { id: tenant.id, slug: tenant.slug }, ...view } };
    },
  },
  {
    path: ["key", "allowlist"],
    summary: "Show or set the IP allowlist of an API key (the tenant's list applies too)",
    flags: {
      tenant: tenantFlag,
      id: { type: "string", value: "KEY_ID", required: true, description: "The key's id (key_…)" },
      ...listFlags,
    },
    oneOf: listOneOf,
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "tenant")!);
      const keyId = str(flags, "id")!;
      const list = listOf(flags);
      const key =
        list === undefined
          ? await getApiKey(ctx.db(), tenant.id, keyId)
          : await setKeyIpAllowlist(ctx.db(), CLI_ACTOR, tenant.id, { keyId, ipAllowlist: list });
      const verb = list === undefined ? "IP allowlist of" : "updated IP allowlist of";
      return { text: `${verb} API key ${key.id} ("${key.name}"): ${showList(key.ipAllowlist)}`, json: key };
    },
  },
  {
    path: ["key", "signing"],
    summary: "Show, turn on, turn off or rotate signed requests for an API key (the secret is printed once)",
    flags: {
      tenant: tenantFlag,
      id: { type: "string", value: "KEY_ID", required: true, description: "The key's id (key_…)" },
      on: { type: "boolean", description: "Require signed requests; prints the new signing secret" },
      off: { type: "boolean", description: "Stop requiring signatures and forget the secret" },
      rotate: { type: "boolean", description: "Issue a new signing secret; the old one keeps signing for --grace seconds" },
      grace: { type: "string", value: "SECONDS", description: "With --rotate: how long the old secret still signs (default 0)" },
    },
    oneOf: [{ flags: ["on", "off", "rotate"], required: false }],
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "tenant")!);
      const keyId = str(flags, "id")!;
      if (flags.on === true) {
        const { secret, apiKey } = await enableSigning(ctx.db(), CLI_ACTOR, tenant.id, { keyId });
        return { text: secretText(`API key ${apiKey.id} ("${apiKey.name}") now requires signed requests`, secret), json: { secret, ...apiKey } };
      }
      if (flags.off === true) {
        const apiKey = await disableSigning(ctx.db(), CLI_ACTOR, tenant.id, { keyId });
        return { text: `API key ${apiKey.id} ("${apiKey.name}") no longer requires signed requests`, json: apiKey };
      }
      if (flags.rotate === true) {
        const raw = str(flags, "grace") ?? "0";
        if (!/^\d{1,8}$/.test(raw)) throw new CliError(`--grace: expected whole seconds, got "${raw}"`);
        const { secret, apiKey } = await rotateSigningSecret(ctx.db(), CLI_ACTOR, tenant.id, { keyId, graceSeconds: Number(raw) });
        const until = apiKey.signingPreviousUntil ? `; the previous secret signs until ${apiKey.signingPreviousUntil.toISOString()}` : "";
        return { text: secretText(`rotated the signing secret of API key ${apiKey.id}${until}`, secret), json: { secret, ...apiKey } };
      }
      if (str(flags, "grace") !== undefined) throw new CliError("--grace goes with --rotate");
      const apiKey = await getApiKey(ctx.db(), tenant.id, keyId);
      const state = apiKey.signingRequired ? "required" : "off";
      return { text: `signed requests for API key ${apiKey.id} ("${apiKey.name}"): ${state}`, json: apiKey };
    },
  },
];
