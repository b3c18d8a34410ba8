import { z } from "zod";
import { listAudit } from "../../services/audit/audit";
import { platformAdminProcedure, router, tenantProcedure } from "../init";

const Page = z.object({
  action: z.string().trim().max(64).optional(),
  cursor: z.string().optional(),
  limit: z.number().int().min(1).max(200).default(50),
});

export const auditRouter = router({
  /** One tenant's audit trail; every member may read it. */
  list: tenantProcedure("viewer")
    .input(Page)
    .query(({ ctx, input }) => listAudit(ctx.db, { ...input, tenantId: ctx.tenant.id })),
  /** Every entry, platform-level ones included. */
  listAll: platformAdminProcedure
    .input(Page)
    .query(({ ctx, input }) => listAudit(ctx.db, { ...input, tenantId: null })),
});
