import { checkBackend, createBackend, discoverBackendModels, listBackends, removeBackend, setBackendAccess, updateBackend } from "../../services/backends/backends";
import { BackendAccessInput, BackendIdInput, CreateBackendInput, UpdateBackendInput } from "../../services/backends/schemas";
import { platformAdminProcedure, router } from "../init";

/** Remote backends are platform-wide: only platform admins see their URLs and manage them. Credentials never come back. */
export const backendsRouter = router({
  list: platformAdminProcedure.query(({ ctx }) => listBackends(ctx.db)),
  create: platformAdminProcedure.input(CreateBackendInput).mutation(({ ctx, input }) => createBackend(ctx.db, ctx.actor, input)),
  update: platformAdminProcedure.input(UpdateBackendInput).mutation(({ ctx, input }) => updateBackend(ctx.db, ctx.actor, input)),
  remove: platformAdminProcedure.input(BackendIdInput).mutation(async ({ ctx, input }) => {
    await removeBackend(ctx.db, ctx.actor, input.id);
    return { id: input.id };
  }),
  /** Health check now (GET {baseUrl}/models); a success closes the circuit. */
  check: platformAdminProcedure.input(BackendIdInput).mutation(({ ctx, input }) => checkBackend(ctx.db, ctx.actor, input.id)),
  /** Which tenants may route to it (its cost is the platform's): every tenant, or a list. */
  setAccess: platformAdminProcedure.input(BackendAccessInput).mutation(({ ctx, input }) => setBackendAccess(ctx.db, ctx.actor, input)),
  /** Replaces the backend's model list with what its /models says. */
  discover: platformAdminProcedure.input(BackendIdInput).mutation(({ ctx, input }) => discoverBackendModels(ctx.db, ctx.actor, input.id)),
});
