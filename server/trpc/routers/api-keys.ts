import {
  CreateApiKeyInput,
  KeySigningInput,
  RevokeApiKeyInput,
  RotateApiKeyInput,
  RotateSigningSecretInput,
  SetKeyIpAllowlistInput,
} from "../../services/api-keys/schemas";
import { disableSigning, enableSigning, rotateSigningSecret, setKeyIpAllowlist } from "../../services/api-keys/security";
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
  /** Signed requests on: returns the signing secret once, in `secret`. */
  enableSigning: tenantProcedure("admin")
    .input(KeySigningInput)
    .mutation(({ ctx, input }) => enableSigning(ctx.db, ctx.actor, ctx.tenant.id, { keyId: input.keyId })),
  disableSigning: tenantProcedure("admin")
    .input(KeySigningInput)
    .mutation(({ ctx, input }) => disableSigning(ctx.db, ctx.actor, ctx.tenant.id, { keyId: input.keyId })),
  /** A new signing secret (returned once, in `secret`); the old one keeps signing for `graceSeconds`. */
  rotateSigningSecret: tenantProcedure("admin")
    .input(RotateSigningSecretInput)
    .mutation(({ ctx, input }) =>
      rotateSigningSecret(ctx.db, ctx.actor, ctx.tenant.id, { keyId: input.keyId, graceSeconds: input.graceSeconds }),
    ),
  setIpAllowlist: tenantProcedure("admin")
    .input(SetKeyIpAllowlistInput)
    .mutation(({ ctx, input }) => setKeyIpAllowlist(ctx.db, ctx.actor, ctx.tenant.id, { keyId: input.keyId, ipAllowlist: input.ipAllowlist })),
});
