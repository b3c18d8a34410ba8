import { z } from "zod";
import { getLogPolicy, updateLogPolicy } from "../../services/request-bodies/request-bodies";
import { LogPolicyInput } from "../../services/request-bodies/schemas";
import { router, tenantProcedure } from "../init";

// Body logging and retention of a tenant: anyone in it may see the settings, admins change them.
export const loggingRouter = router({
  get: tenantProcedure("viewer")
    .input(z.object({ tenantId: z.string().min(1) }))
    .query(async ({ ctx }) => ({ ...(await getLogPolicy(ctx.db, ctx.tenant.id)), role: ctx.tenant.role })),

  update: tenantProcedure("admin")
    .input(LogPolicyInput)
    .mutation(({ ctx, input }) => updateLogPolicy(ctx.db, ctx.actor, { ...input, tenantId: ctx.tenant.id })),
});
