import { z } from "zod";
import { CreateTenantInput, TenantStatusInput, UpdateTenantInput } from "../../services/tenants/schemas";
import {
  createTenant,
  getTenant,
  listTenantsFor,
  setTenantStatus,
  updateTenant,
} from "../../services/tenants/tenants";
import { SetTenantIpAllowlistInput } from "../../services/api-keys/schemas";
import { getTenantSecurity, setTenantIpAllowlist } from "../../services/api-keys/security";
import { authedProcedure, platformAdminProcedure, router, tenantProcedure } from "../init";

export const tenantsRouter = router({
  list: authedProcedure.query(({ ctx }) => listTenantsFor(ctx.db, ctx.user)),

  /** Resolves a slug from a URL, with the caller's role; NOT_FOUND if they may not see it. */
  bySlug: tenantProcedure("viewer", { by: "slug" }).query(async ({ ctx }) => ({
    ...(await getTenant(ctx.db, ctx.tenant.id)),
    role: ctx.tenant.role,
    viaPlatformAdmin: ctx.user.isPlatformAdmin,
  })),

  get: tenantProcedure("viewer").query(({ ctx }) => getTenant(ctx.db, ctx.tenant.id)),

  create: platformAdminProcedure.input(CreateTenantInput).mutation(({ ctx, input }) => createTenant(ctx.db, ctx.actor, input)),

  update: tenantProcedure("admin")
    .input(UpdateTenantInput)
    .mutation(({ ctx, input }) => updateTenant(ctx.db, ctx.actor, ctx.tenant.id, { name: input.name })),

  /** The tenant's IP allowlist (every key of the tenant is bound to it). */
  security: tenantProcedure("viewer").query(({ ctx }) => getTenantSecurity(ctx.db, ctx.tenant.id)),

  setIpAllowlist: tenantProcedure("admin")
    .input(SetTenantIpAllowlistInput)
    .mutation(({ ctx, input }) => setTenantIpAllowlist(ctx.db, ctx.actor, ctx.tenant.id, { ipAllowlist: input.ipAllowlist })),

  setStatus: platformAdminProcedure
    .input(z.object({ tenantId: z.string().min(1), status: TenantStatusInput }))
    .mutation(({ ctx, input }) => setTenantStatus(ctx.db, ctx.actor, input.tenantId, input.status)),
});
