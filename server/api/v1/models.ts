/** GET /api/v1/models and GET /api/v1/models/{model}: what this caller may use — the tenant's aliases and models. */
import { db } from "../../db/client";
import { resolveModelFor, modelsForPrincipal } from "../../services/models/models";
import { aliasesForPrincipal } from "../../services/routing/policies";
import type { V1Context } from "./handler";
import type { Model, ModelList } from "./response-schemas";

const toOpenAI = (m: { name: string; createdAt: Date }, ownedBy = "switchyard"): Model => ({
  id: m.name,
  object: "model",
  created: Math.floor(m.createdAt.getTime() / 1000),
  owned_by: ownedBy,
});

export async function listModelsV1(ctx: V1Context): Promise<Response> {
  const [rows, aliases] = await Promise.all([modelsForPrincipal(db(), ctx.principal), aliasesForPrincipal(db(), ctx.principal)]);
  // An alias shadows a model of the same name (requests resolve the alias first), so list it once.
  const aliasNames = new Set(aliases.map((a) => a.alias));
  const data = [
    ...aliases.map((a) => toOpenAI({ name: a.alias, createdAt: a.createdAt }, "switchyard:alias")),
    ...rows.filter((m) => !aliasNames.has(m.name)).map((m) => toOpenAI(m)),
  ].sort((a, b) => a.id.localeCompare(b.id));
  return Response.json({ object: "list", data } satisfies ModelList, { headers: ctx.headers });
}

export async function getModelV1(ctx: V1Context, name: string): Promise<Response> {
  ctx.usage.modelRequested = name;
  const alias = (await aliasesForPrincipal(db(), ctx.principal, name))[0];
  if (alias) return Response.json(toOpenAI({ name: alias.alias, createdAt: alias.createdAt }, "switchyard:alias"), { headers: ctx.headers });
  const m = await resolveModelFor(db(), ctx.principal, name);
  return Response.json(toOpenAI(m), { headers: ctx.headers });
}
