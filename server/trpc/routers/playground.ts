import { issueAccessToken } from "../../services/api-keys/access-tokens";
import { router, tenantProcedure } from "../init";

export const playgroundRouter = router({
  /**
   * A 15-minute access token for calling /api/v1 from the console as the signed-in
   * user (members and up; viewers may not run inference). A mutation: it mints a credential.
   */
  token: tenantProcedure("member").mutation(({ ctx }) =>
    issueAccessToken(ctx.db, ctx.actor, ctx.tenant.id, { sessionVersion: ctx.user.sessionVersion }),
  ),
});
