/** The app's tRPC router. Add a domain router here (see CONTRIBUTING.md → "Add a tRPC procedure"). */
import { createCallerFactory, router } from "./init";
import { auditRouter } from "./routers/audit";
import { membersRouter } from "./routers/members";
import { tenantsRouter } from "./routers/tenants";
import { usersRouter } from "./routers/users";

export const appRouter = router({
  tenants: tenantsRouter,
  members: membersRouter,
  users: usersRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
