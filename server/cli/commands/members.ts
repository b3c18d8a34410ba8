/** `members`: a tenant's members (changed with `user add | role | remove`, in users.ts). */
import { listMembers } from "../../services/members/members";
import { findTenantBySlug } from "../../services/tenants/tenants";
import { req } from "../args";
import { tenantFlag } from "../flags";
import { shortDate, table } from "../format";
import type { Command } from "../registry";

export const memberCommands: readonly Command[] = [
  {
    path: ["members"],
    summary: "List a tenant's members",
    flags: { tenant: tenantFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const members = await listMembers(ctx.db(), tenant.id);
      const text = members.length
        ? table(
            ["EMAIL", "NAME", "ROLE", "STATUS", "ADDED", "ID"],
            members.map((m) => [
              m.user.email,
              m.user.name || "-",
              m.role,
              m.user.disabledAt ? "disabled" : "active",
              shortDate(m.createdAt),
              m.id,
            ]),
          )
        : `tenant ${tenant.slug} has no members`;
      return { text, json: members };
    },
  },
];
