import { z } from "zod";
import { ChangePasswordInput, CreateUserInput, SetUserDisabledInput } from "../../services/users/schemas";
import { changePassword, createUser, listUsers, setUserDisabled } from "../../services/users/users";
import { authedProcedure, platformAdminProcedure, router } from "../init";

export const usersRouter = router({
  me: authedProcedure.query(({ ctx }) => ({
    id: ctx.user.id,
    email: ctx.user.email,
    name: ctx.user.name,
    isPlatformAdmin: ctx.user.isPlatformAdmin,
  })),
  changePassword: authedProcedure
    .input(ChangePasswordInput)
    .mutation(({ ctx, input }) => changePassword(ctx.db, ctx.actor, input)),
  list: platformAdminProcedure
    .input(z.object({ query: z.string().trim().max(254).optional() }).optional())
    .query(({ ctx, input }) => listUsers(ctx.db, { query: input?.query })),
  create: platformAdminProcedure.input(CreateUserInput).mutation(({ ctx, input }) => createUser(ctx.db, ctx.actor, input)),
  setDisabled: platformAdminProcedure
    .input(SetUserDisabledInput)
    .mutation(({ ctx, input }) => setUserDisabled(ctx.db, ctx.actor, input)),
});
