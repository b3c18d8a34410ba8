/** `tenant create | list | suspend | activate`. */
import { CLI_ACTOR } from "../../services/audit/audit";
import { createTenant, findTenantBySlug, listTenantsFor, setTenantStatus } from "../../services/tenants/tenants";
import { type Flags, req } from "../args";
import { tenantFlag } from "../flags";
import { shortDate, table } from "../format";
import type { Command, Ctx, Output } from "../registry";

async function setStatus(ctx: Ctx, flags: Flags, status: "active" | "suspended"): Promise<Output> {
  const before = await findTenantBySlug(ctx.db(), req(flags, "slug"));
  const tenant = await setTenantStatus(ctx.db(), CLI_ACTOR, before.id, status);
  const verb = status === "suspended" ? "suspended" : "activated";
  const text =
    before.status === status ? `tenant ${tenant.slug} is already ${status}` : `${verb} tenant ${tenant.slug}`;
  return { text, json: tenant };
}

export const tenantCommands: readonly Command[] = [
  {
    path: ["tenant", "create"],
    summary: "Create a tenant",
    flags: {
      slug: { type: "string", value: "SLUG", required: true, description: "Lower-case letters, digits and dashes" },
      name: { type: "string", value: "NAME", required: true, description: "Display name" },
    },
    async run(ctx, flags) {
      const tenant = await createTenant(ctx.db(), CLI_ACTOR, { slug: req(flags, "slug"), name: req(flags, "name") });
      return { text: `created tenant ${tenant.slug} (${tenant.id})`, json: tenant };
    },
  },
  {
    path: ["tenant", "list"],
    summary: "List all tenants",
    flags: {},
    async run(ctx) {
      // the CLI is a platform admin with no memberships: `role` is always null, so it is left out
      const rows = (await listTenantsFor(ctx.db(), { id: "", isPlatformAdmin: true })).map(
        ({ role: _role, ...t }) => t,
      );
      const text = rows.length
        ? table(
            ["SLUG", "NAME", "STATUS", "MEMBERS", "CREATED", "ID"],
            rows.map((t) => [t.slug, t.name, t.status, String(t.memberCount), shortDate(t.createdAt), t.id]),
          )
        : "no tenants";
      return { text, json: rows };
    },
  },
  {
    path: ["tenant", "suspend"],
    summary: "Suspend a tenant: its API keys stop working until it is activated",
    flags: { slug: tenantFlag },
    run: (ctx, flags) => setStatus(ctx, flags, "suspended"),
  },
  {
    path: ["tenant", "activate"],
    summary: "Activate a suspended tenant",
    flags: { slug: tenantFlag },
    run: (ctx, flags) => setStatus(ctx, flags, "active"),
  },
];
