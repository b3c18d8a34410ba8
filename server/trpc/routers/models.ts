import { z } from "zod";
import { localPool, specOf } from "../../inference/engine";
import { AppError, NotFound } from "../../errors";
import { addModel, listModelsWithGrants, removeModel, setModelAccess } from "../../services/models/models";
import { pullProgress, startPull } from "../../services/models/pull";
import { AddModelInput, ModelAccessInput, ModelName } from "../../services/models/schemas";
import { recordAudit } from "../../services/audit/audit";
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

  remove: platformAdminProcedure.input(ByName).mutation(async ({ ctx, input }) => {
    await removeModel(ctx.db, ctx.actor, input.name);
    await localPool().unload(input.name);
    return { name: input.name };
  }),

  /** Starts downloading a registered hf: model in this server; progress shows in `list`. */
  pull: platformAdminProcedure.input(ByName).mutation(({ ctx, input }) => startPull(ctx.db, ctx.actor, input.name)),

  setAccess: platformAdminProcedure.input(ModelAccessInput).mutation(({ ctx, input }) => setModelAccess(ctx.db, ctx.actor, input)),

  /** The llama.cpp engine this server runs (or will), and the background native build (server/inference/auto-build.ts). */
  engine: platformAdminProcedure.query(async () => (await import("../../inference/local-pool")).engineStatus()),

  /** Loads a model into this server's memory now (instead of on its first request). */
  load: platformAdminProcedure.input(ByName).mutation(async ({ ctx, input }) => {
    const m = await ctx.db.model.findUnique({ where: { name: input.name } });
    if (!m) throw NotFound(`Model ${input.name}`);
    if (m.source.startsWith("hf:")) throw new AppError("conflict", `Model ${input.name} has not been downloaded yet`, { code: "model_not_downloaded" });
    const pool = localPool();
    await pool.register(specOf(m));
    await pool.load(m.name);
    await recordAudit(ctx.db, ctx.actor, { action: "model.load", targetType: "model", targetId: m.id, data: { name: m.name } });
    return pool.status().find((s) => s.name === m.name) ?? null;
  }),

  unload: platformAdminProcedure.input(ByName).mutation(async ({ ctx, input }) => {
    const m = await ctx.db.model.findUnique({ where: { name: input.name }, select: { id: true, name: true } });
    if (!m) throw NotFound(`Model ${input.name}`);
    await localPool().unload(m.name);
    await recordAudit(ctx.db, ctx.actor, { action: "model.unload", targetType: "model", targetId: m.id, data: { name: m.name } });
    return { name: m.name };
  }),
});
