/**
 * The optional embedding feature of the difficulty score: how close a conversation
 * sits to built-in hard and easy examples under the policy's local embedding model
 * (plan.ts adds it to the score when the policy names a model).
 */
import type { Db } from "../../db/client";
import { engineFor } from "../../inference/engine";
import { type GenerateRequest, contentText } from "../../inference/types";
import { EASY_EXEMPLARS, HARD_EXEMPLARS, centroid, hardness } from "../../routing/exemplars";
import { processSlot } from "../../runtime/registry";
import { isHfUri, modelForTenant } from "../models/models";

/** Longest tail of a conversation embedded for routing: the latest turns say most, and small models have small contexts. */
const EMBED_CHARS = 1500;
/** Exemplar centroids per model version (name@updatedAt), once per process. */
const exemplars = processSlot("routing.exemplars", () => new Map<string, Promise<{ easy: number[]; hard: number[] }>>());

/**
 * How much closer the conversation sits to the built-in hard examples than to the
 * easy ones, with the policy's local embedding model. Routing cost, not the
 * caller's: its tokens are not billed. Null when the model is unusable.
 */
export async function embeddingFeature(db: Db, tenantId: string, name: string, req: Pick<GenerateRequest, "messages" | "prompt">): Promise<number | null> {
  const m = await modelForTenant(db, tenantId, name);
  if (!m || m.kind !== "embedding" || isHfUri(m.source)) return null;
  const engine = await engineFor(m);
  const signal = AbortSignal.timeout(5000);
  // Exemplar centroids once per model version and process.
  const cacheKey = `${m.name}@${m.updatedAt.getTime()}`;
  const exemplarCache = exemplars.get();
  let ex = exemplarCache.get(cacheKey);
  if (!ex) {
    ex = engine.embed(m.name, [...EASY_EXEMPLARS, ...HARD_EXEMPLARS], tenantId, signal).then((r) => ({
      easy: centroid(r.vectors.slice(0, EASY_EXEMPLARS.length)),
      hard: centroid(r.vectors.slice(EASY_EXEMPLARS.length)),
    }));
    exemplarCache.set(cacheKey, ex);
    ex.catch(() => exemplarCache.delete(cacheKey));
  }
  const text = (req.messages ? req.messages.map((x) => `${x.role}: ${contentText(x.content)}`).join("\n") : (req.prompt ?? "")).slice(-EMBED_CHARS);
  const [{ easy, hard }, r] = await Promise.all([ex, engine.embed(m.name, [text || " "], tenantId, signal)]);
  return hardness(r.vectors[0]!, easy, hard);
}
