/** The app's tRPC router. Add a domain router here (see CONTRIBUTING.md → "Add a tRPC procedure"). */
import "server-only";
import { createCallerFactory, router } from "./init";
import { apiKeysRouter } from "./routers/api-keys";
import { auditRouter } from "./routers/audit";
import { backendsRouter } from "./routers/backends";
import { limitsRouter } from "./routers/limits";
import { loggingRouter } from "./routers/logging";
import { membersRouter } from "./routers/members";
import { modelsRouter } from "./routers/models";
import { playgroundRouter } from "./routers/playground";
import { pricingRouter } from "./routers/pricing";
import { routingRouter } from "./routers/routing";
import { tenantsRouter } from "./routers/tenants";
import { usageRouter } from "./routers/usage";
import { usersRouter } from "./routers/users";

export const appRouter = router({
  tenants: tenantsRouter,
  members: membersRouter,
  users: usersRouter,
  audit: auditRouter,
  apiKeys: apiKeysRouter,
  playground: playgroundRouter,
  limits: limitsRouter,
  logging: loggingRouter,
  usage: usageRouter,
  models: modelsRouter,
  routing: routingRouter,
  backends: backendsRouter,
  pricing: pricingRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
