import { z } from "zod";
import { getLimits, setKeyLimits, setTenantLimits } from "../../services/limits/limits";
import { SetKeyLimitsInput, SetTenantLimitsInput } from "../../services/limits/schemas";
import { platformAdminProcedure, router, tenantProcedure } from "../init";

// Every member may see the limits that apply to them and this month's usage. Key limits are the
// tenant's own business (admins, like keys themselves). Tenant limits are the operator's quota on a
// tenant — what keeps one tenant from starving the others or overspending — so only platform admins
// set them: a tenant owner who could raise them would make them meaningless.
export const limitsRouter = router({
  get: tenantProcedure("viewer").query(({ ctx }) => getLimits(ctx.db, ctx.tenant.id)),
  setTenant: platformAdminProcedure
    .input(SetTenantLimitsInput.extend({ tenantId: z.string().min(1, "tenantId is required") }))
    .mutation(({ ctx, input }) => {
      const { tenantId, ...patch } = input;
      return setTenantLimits(ctx.db, ctx.actor, tenantId, patch);
    }),
  setKey: tenantProcedure("admin")
    .input(SetKeyLimitsInput)
    .mutation(({ ctx, input }) => {
      const { tenantId: _ignored, ...patch } = input;
      return setKeyLimits(ctx.db, ctx.actor, ctx.tenant.id, patch);
    }),
});
