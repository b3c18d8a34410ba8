import { z } from "zod";
import { getRequestBody } from "../../services/request-bodies/request-bodies";
import { getUsageRow, listUsage, tenantOverview } from "../../services/usage/dashboard";
import { startUsageExport } from "../../services/usage/export";
import { OverviewRange, UsageFilter, UsageGetInput, UsageListInput } from "../../services/usage/schemas";
import { router, tenantProcedure } from "../init";

// Every member of a tenant, viewers included, may read its usage.
export const usageRouter = router({
  overview: tenantProcedure("viewer")
    .input(z.object({ tenantId: z.string().min(1), range: OverviewRange.default("24h") }))
    .query(({ ctx, input }) => tenantOverview(ctx.db, ctx.tenant.id, input.range)),

  list: tenantProcedure("viewer")
    .input(UsageListInput)
    .query(({ ctx, input }) => listUsage(ctx.db, ctx.tenant.id, { filter: input.filter, cursor: input.cursor, limit: input.limit })),

  get: tenantProcedure("viewer")
    .input(UsageGetInput)
    .query(({ ctx, input }) => getUsageRow(ctx.db, ctx.tenant.id, input.id)),

  /** The stored (redacted) conversation of a request; viewers only when the tenant lets them (checked by the service). */
  body: tenantProcedure("viewer")
    .input(UsageGetInput)
    .query(({ ctx, input }) => getRequestBody(ctx.db, ctx.tenant.id, ctx.tenant.role, input.id)),

  /** A 2-minute link to download the filtered log as CSV (a mutation: it mints a credential, and is audited). */
  exportCsv: tenantProcedure("viewer")
    .input(z.object({ tenantId: z.string().min(1), filter: UsageFilter.default({}) }))
    .mutation(({ ctx, input }) => startUsageExport(ctx.db, { ...ctx.actor, userId: ctx.user.id }, ctx.tenant.id, input.filter)),
});
