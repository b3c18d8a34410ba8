import { CreateApiKeyInput, RevokeApiKeyInput, RotateApiKeyInput } from "../../services/api-keys/schemas";
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from "../../services/api-keys/api-keys";
import { router, tenantProcedure } from "../init";

// Every member may see which keys exist (names and prefixes only); admins create and revoke them.
export const apiKeysRouter = router({
  list: tenantProcedure("viewer").query(({ ctx }) => listApiKeys(ctx.db, ctx.tenant.id)),
  /** Returns the plaintext key once, in `key`; it cannot be read again. */
  create: tenantProcedure("admin")
    .input(CreateApiKeyInput)
    .mutation(({ ctx, input }) =>
      createApiKey(ctx.db, ctx.actor, ctx.tenant.id, {
        name: input.name,
        scopes: input.scopes,
        models: input.models,
        expiresAt: input.expiresAt,
      }),
    ),
  revoke: tenantProcedure("admin")
    .input(RevokeApiKeyInput)
    .mutation(({ ctx, input }) => revokeApiKey(ctx.db, ctx.actor, ctx.tenant.id, { keyId: input.keyId })),
  /** Issues a replacement (returned once, in `key`); the old key keeps working for `graceSeconds`. */
  rotate: tenantProcedure("admin")
    .input(RotateApiKeyInput)
    .mutation(({ ctx, input }) => rotateApiKey(ctx.db, ctx.actor, ctx.tenant.id, { keyId: input.keyId, graceSeconds: input.graceSeconds })),
});
