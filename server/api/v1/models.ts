/** GET /api/v1/models and GET /api/v1/models/{model}: what this caller may use. */
import { db } from "../../db/client";
import { resolveModelFor, modelsForPrincipal } from "../../services/models/models";
import type { V1Context } from "./handler";

const toOpenAI = (m: { name: string; createdAt: Date }) => ({
  id: m.name,
  object: "model" as const,
  created: Math.floor(m.createdAt.getTime() / 1000),
  owned_by: "switchyard",
});

export async function listModelsV1(ctx: V1Context): Promise<Response> {
  const rows = await modelsForPrincipal(db(), ctx.principal);
  return Response.json({ object: "list", data: rows.map(toOpenAI) }, { headers: ctx.headers });
}

export async function getModelV1(ctx: V1Context, name: string): Promise<Response> {
  ctx.usage.modelRequested = name;
  const m = await resolveModelFor(db(), ctx.principal, name);
  return Response.json(toOpenAI(m), { headers: ctx.headers });
}
