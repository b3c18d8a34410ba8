/** POST /api/v1/embeddings */
import { db } from "../../db/client";
import { engineFor } from "../../inference/engine";
import { resolveModelFor } from "../../services/models/models";
import type { V1Context } from "./handler";
import type { EmbeddingRequest } from "./schemas";

export async function embeddings(ctx: V1Context, body: EmbeddingRequest): Promise<Response> {
  const model = await resolveModelFor(db(), ctx.principal, body.model);
  ctx.usage.modelUsed = model.name;
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const engine = await engineFor(model);
  const result = await engine.embed(model.name, inputs, ctx.principal.tenantId, ctx.signal);
  ctx.usage.promptTokens = result.usage.promptTokens;
  const base64 = body.encoding_format === "base64";
  return Response.json(
    {
      object: "list",
      data: result.vectors.map((v, index) => ({
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
      })),
      model: body.model,
      usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens },
    },
    { headers: ctx.headers },
  );
}
