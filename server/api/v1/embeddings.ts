/** POST /api/v1/embeddings */
import type { V1Context } from "./handler";
import { embedRouted, planRequest } from "./routed";
import type { EmbeddingRequest } from "./schemas";

export async function embeddings(ctx: V1Context, body: EmbeddingRequest): Promise<Response> {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const plan = await planRequest(ctx, body.model, { prompt: inputs.join("\n") });
  const result = await embedRouted(ctx, plan, inputs);
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
