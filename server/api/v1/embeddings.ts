/** POST /api/v1/embeddings */
import { embed } from "../../services/gateway/execute";
import type { V1Context } from "./handler";
import type { Embeddings } from "./response-schemas";
import type { EmbeddingRequest } from "./schemas";

export async function embeddings(ctx: V1Context, body: EmbeddingRequest): Promise<Response> {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const result = await embed(ctx, body.model, inputs);
  const base64 = body.encoding_format === "base64";
  const answer: Embeddings = {
    object: "list",
    data: result.vectors.map((v, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
    })),
    model: body.model,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens },
  };
  return Response.json(answer, { headers: ctx.headers });
}
