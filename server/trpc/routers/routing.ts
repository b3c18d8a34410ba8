import { backendsForTenant } from "../../services/backends/backends";
import { listModelsForTenant } from "../../services/models/models";
import { createPolicy, getPolicy, listPolicies, removePolicy, restorePolicy, updatePolicy } from "../../services/routing/policies";
import { dryRun } from "../../services/routing/plan";
import { CreatePolicyInput, DryRunInput, PolicyIdInput, RestorePolicyInput, UpdatePolicyInput } from "../../services/routing/schemas";
import { router, tenantProcedure } from "../init";

// Viewers see a tenant's aliases and their history; members may dry-run them; admins change them.
export const routingRouter = router({
  list: tenantProcedure("viewer").query(({ ctx }) => listPolicies(ctx.db, ctx.tenant.id)),
  get: tenantProcedure("viewer")
    .input(PolicyIdInput)
    .query(({ ctx, input }) => getPolicy(ctx.db, ctx.tenant.id, input.policyId)),
  /** What a policy may point at: the tenant's local models and the models of the backends it may use (no URLs or credentials). */
  targets: tenantProcedure("viewer").query(async ({ ctx }) => {
    const [models, backends, aliases] = await Promise.all([
      listModelsForTenant(ctx.db, ctx.tenant.id),
      backendsForTenant(ctx.db, ctx.tenant.id),
      listPolicies(ctx.db, ctx.tenant.id),
    ]);
    return {
      models: models.map((m) => ({ name: m.name, kind: m.kind })),
      backends: backends.map((b) => ({ id: b.id, name: b.name, models: b.models, health: b.health })),
      aliases: aliases.map((a) => a.alias),
    };
  }),
  create: tenantProcedure("admin")
    .input(CreatePolicyInput)
    .mutation(({ ctx, input }) => createPolicy(ctx.db, ctx.actor, ctx.tenant.id, input)),
  update: tenantProcedure("admin")
    .input(UpdatePolicyInput)
    .mutation(({ ctx, input }) => updatePolicy(ctx.db, ctx.actor, ctx.tenant.id, input)),
  restore: tenantProcedure("admin")
    .input(RestorePolicyInput)
    .mutation(({ ctx, input }) => restorePolicy(ctx.db, ctx.actor, ctx.tenant.id, input)),
  remove: tenantProcedure("admin")
    .input(PolicyIdInput)
    .mutation(async ({ ctx, input }) => {
      await removePolicy(ctx.db, ctx.actor, ctx.tenant.id, input.policyId);
      return { policyId: input.policyId };
    }),
  /** The decision for a pasted conversation and why; calls no model. */
  dryRun: tenantProcedure("member")
    .input(DryRunInput)
    .query(({ ctx, input }) => dryRun(ctx.db, ctx.tenant.id, input)),
});
