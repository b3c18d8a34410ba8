import { z } from "zod";
import { localPool } from "../../inference/engine";
import { addModel, listModelsWithGrants, setModelAccess } from "../../services/models/models";
import { pullProgress, startPull } from "../../services/models/pull";
import { AddModelInput, ModelAccessInput, ModelName } from "../../services/models/schemas";
import { loadModel, removeAndUnloadModel, unloadModel } from "../../services/models/loading";
import { platformAdminProcedure, router } from "../init";

const ByName = z.object({ name: ModelName });

/** Models are platform-wide: only platform admins manage them and who may use them. */
export const modelsRouter = router({
  /** Registered models with this server's runtime state (loaded, memory, slots busy, queue). */
  list: platformAdminProcedure.query(async ({ ctx }) => {
    const rows = await listModelsWithGrants(ctx.db);
    const runtime = new Map(localPool().status().map((s) => [s.name, s]));
    return rows.map(({ grants, ...m }) => ({
      ...m,
      sizeBytes: m.sizeBytes === null ? null : Number(m.sizeBytes),
      tenantIds: grants.map((g) => g.tenantId),
      runtime: runtime.get(m.name) ?? null,
      download: pullProgress(m.name),
    }));
  }),

  add: platformAdminProcedure.input(AddModelInput).mutation(async ({ ctx, input }) => {
    const m = await addModel(ctx.db, ctx.actor, input);
    return { ...m, sizeBytes: m.sizeBytes === null ? null : Number(m.sizeBytes) };
  }),

  remove: platformAdminProcedure.input(ByName).mutation(({ ctx, input }) => removeAndUnloadModel(ctx.db, ctx.actor, input.name)),

  /** Starts downloading a registered hf: model in this server; progress shows in `list`. */
  pull: platformAdminProcedure.input(ByName).mutation(({ ctx, input }) => startPull(ctx.db, ctx.actor, input.name)),

  setAccess: platformAdminProcedure.input(ModelAccessInput).mutation(({ ctx, input }) => setModelAccess(ctx.db, ctx.actor, input)),

  /** The llama.cpp engine this server runs (or will), and the background native build (server/inference/auto-build.ts). */
  engine: platformAdminProcedure.query(async () => (await import("../../inference/local-pool")).engineStatus()),

  /** Loads a model into this server's memory now (instead of on its first request). */
  load: platformAdminProcedure.input(ByName).mutation(({ ctx, input }) => loadModel(ctx.db, ctx.actor, input.name)),

  unload: platformAdminProcedure.input(ByName).mutation(({ ctx, input }) => unloadModel(ctx.db, ctx.actor, input.name)),
});
