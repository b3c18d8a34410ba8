/**
 * `tenant logging`: show or change a tenant's body logging and retention (flags left
 * out keep their value), and `retention purge`: run the retention purge now.
 * Listed in commands/index.ts.
 */
import { CLI_ACTOR } from "../../services/audit/audit";
import { getLogPolicy, updateLogPolicy } from "../../services/request-bodies/request-bodies";
import { purgeRetention } from "../../services/request-bodies/retention";
import { findTenantBySlug } from "../../services/tenants/tenants";
import { type Flags, str } from "../args";
import type { Command } from "../registry";
import { tenantFlag } from "../flags";
import { CliError } from "../format";


function onOff(flags: Flags, name: string): boolean | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (v === "on" || v === "off") return v === "on";
  throw new CliError(`--${name}: expected "on" or "off", got "${v}"`);
}

function number(flags: Flags, name: string, opts: { none?: boolean } = {}): number | null | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (opts.none && v === "none") return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`--${name}: expected a number${opts.none ? ' or "none"' : ""}, got "${v}"`);
  return n;
}

export const loggingCommands: Command[] = [
  {
    path: ["tenant", "logging"],
    summary: "Show or set a tenant's request-body logging (opt-in, redacted) and retention",
    flags: {
      slug: tenantFlag,
      bodies: { type: "string", value: "on|off", description: "Store request and response bodies (redacted, size-capped)" },
      keys: { type: "string", value: "ID,ID|all", description: "Only these API keys' requests (default all)" },
      sample: { type: "string", value: "0..1", description: "Share of requests stored" },
      "body-days": { type: "string", value: "N", description: "Days stored bodies are kept" },
      "usage-days": { type: "string", value: "N|none", description: "Days usage rows are kept (none: the platform default)" },
      "viewers-see-bodies": { type: "string", value: "on|off", description: "Let viewers read stored bodies" },
      "redact-json": { type: "string", value: "JSON", description: 'Custom redactions: [{"name":"ticket","pattern":"TCK-\\\\d{5}"}]' },
    },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "slug")!);
      const cur = await getLogPolicy(ctx.db(), tenant.id);
      const keys = str(flags, "keys");
      let patterns = cur.redactPatterns;
      const rj = str(flags, "redact-json");
      if (rj !== undefined) {
        try {
          patterns = JSON.parse(rj) as typeof patterns;
        } catch (e) {
          throw new CliError(`--redact-json: not JSON (${(e as Error).message})`);
        }
      }
      const next = {
        tenantId: tenant.id,
        bodiesEnabled: onOff(flags, "bodies") ?? cur.bodiesEnabled,
        bodyKeyIds: keys === undefined ? cur.bodyKeyIds : keys === "all" ? null : keys.split(",").map((k) => k.trim()).filter(Boolean),
        bodySampleRate: (number(flags, "sample") ?? cur.bodySampleRate) as number,
        redactPatterns: patterns,
        bodyRetentionDays: (number(flags, "body-days") ?? cur.bodyRetentionDays) as number,
        usageRetentionDays: number(flags, "usage-days", { none: true }) === undefined ? cur.usageRetentionDays : (number(flags, "usage-days", { none: true }) as number | null),
        viewersSeeBodies: onOff(flags, "viewers-see-bodies") ?? cur.viewersSeeBodies,
      };
      const changed = JSON.stringify({ ...cur }) !== JSON.stringify({ ...next, tenantId: undefined });
      const p = changed ? await updateLogPolicy(ctx.db(), CLI_ACTOR, next) : cur;
      const text = [
        `${changed ? "updated logging of" : "logging of"} tenant ${tenant.slug}:`,
        `  bodies             ${p.bodiesEnabled ? "on" : "off"}${p.bodiesEnabled ? ` (${p.bodyKeyIds ? `keys ${p.bodyKeyIds.join(", ")}` : "all keys"}, sample ${p.bodySampleRate})` : ""}`,
        `  custom redactions  ${p.redactPatterns.map((r) => r.name).join(", ") || "none"}`,
        `  bodies kept        ${p.bodyRetentionDays} days`,
        `  usage rows kept    ${p.usageRetentionDays === null ? "platform default" : `${p.usageRetentionDays} days`}`,
        `  viewers see bodies ${p.viewersSeeBodies ? "yes" : "no"}`,
      ].join("\n");
      return { text, json: { tenant: { id: tenant.id, slug: tenant.slug }, ...p } };
    },
  },
  {
    path: ["retention", "purge"],
    summary: "Delete usage rows and stored bodies past their retention now (the server also does this every 10 minutes)",
    flags: {},
    async run(ctx) {
      const r = await purgeRetention(ctx.db(), { force: true });
      return {
        text: `deleted ${r.requestLogs} usage rows and ${r.bodies} stored bodies in ${r.tenants} tenants${r.more ? " (more remain: run again)" : ""}`,
        json: r,
      };
    },
  },
];
