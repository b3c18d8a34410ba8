import { z } from "zod";
import { importSeedPrices, listPrices, priceHistory, seedPrices, setPrice } from "../../services/pricing/prices";
import { ImportSeedInput, PriceHistoryInput, SetPriceInput } from "../../services/pricing/schemas";
import { platformSpend } from "../../services/usage/dashboard";
import { OverviewRange } from "../../services/usage/schemas";
import { authedProcedure, platformAdminProcedure, router } from "../init";

// Prices are the platform's costs: every signed-in user may read them (members see what their
// requests cost), only platform admins change them or see spend across tenants.
export const pricingRouter = router({
  list: authedProcedure.query(({ ctx }) => listPrices(ctx.db)),
  history: authedProcedure.input(PriceHistoryInput).query(({ ctx, input }) => priceHistory(ctx.db, input)),
  set: platformAdminProcedure.input(SetPriceInput).mutation(({ ctx, input }) => setPrice(ctx.db, ctx.actor, input, "console")),
  seedList: platformAdminProcedure.query(() => seedPrices()),
  importSeed: platformAdminProcedure.input(ImportSeedInput).mutation(({ ctx, input }) => importSeedPrices(ctx.db, ctx.actor, input)),
  platformSpend: platformAdminProcedure
    .input(z.object({ range: OverviewRange.default("30d") }))
    .query(({ ctx, input }) => platformSpend(ctx.db, input.range)),
});
