import { AddMemberInput, ChangeRoleInput, RemoveMemberInput } from "../../services/members/schemas";
import { addMember, changeMemberRole, listMembers, removeMember } from "../../services/members/members";
import { router, tenantProcedure } from "../init";

// Owners manage members; everyone in the tenant can see who is in it.
export const membersRouter = router({
  list: tenantProcedure("viewer").query(({ ctx }) => listMembers(ctx.db, ctx.tenant.id)),
  add: tenantProcedure("owner")
    .input(AddMemberInput)
    .mutation(({ ctx, input }) => addMember(ctx.db, ctx.actor, ctx.tenant.id, { email: input.email, role: input.role })),
  changeRole: tenantProcedure("owner")
    .input(ChangeRoleInput)
    .mutation(({ ctx, input }) =>
      changeMemberRole(ctx.db, ctx.actor, ctx.tenant.id, { membershipId: input.membershipId, role: input.role }),
    ),
  remove: tenantProcedure("owner")
    .input(RemoveMemberInput)
    .mutation(({ ctx, input }) => removeMember(ctx.db, ctx.actor, ctx.tenant.id, { membershipId: input.membershipId })),
});
