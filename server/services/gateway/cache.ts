/**
 * Exact-match response cache for generations (RESPONSE_CACHE_TTL_SECONDS > 0),
 * shared by every dialect: it keeps dialect-neutral results, so each dialect
 * renders a hit in its own shape.
 *
 * Only requests whose answer is a function of the request: non-streaming, with
 * `temperature: 0` given explicitly (greedy decoding is deterministic in llama.cpp).
 * The key is a SHA-256 of the tenant, the requested model and the neutral request
 * with its keys sorted — minus what doesn't change the answer (`stream`, `user`) —
 * so tenants never share answers. A hit still goes through auth, limits and the
 * model access check; it is logged with cached=true and 0 tokens (no model ran),
 * and marked `x-switchyard-cache: hit`.
 *
 * In-process and per replica (bounded LRU): a cache is an optimisation, and
 * replicas that each compute an answer once are still correct.
 */
import { createHash } from "node:crypto";
import { env } from "../../env";
import { TtlCache } from "../../lib/ttl-cache";
import { metrics } from "../../metrics/metrics";
import { processSlot } from "../../runtime/registry";
import type { GatewayRequest, GenerationResult } from "./types";

export interface CachedResult {
  result: GenerationResult;
  /** what served the original request (the usage log's modelUsed for hits) */
  modelUsed: string | null;
}

const slot = processSlot("gateway.responseCache", () => {
  const e = env();
  return new TtlCache<string, CachedResult>({ maxEntries: e.RESPONSE_CACHE_MAX_ENTRIES, ttlMs: e.RESPONSE_CACHE_TTL_SECONDS * 1000 });
});

function cache(): TtlCache<string, CachedResult> | null {
  if (!env().RESPONSE_CACHE_TTL_SECONDS) return null;
  return slot.get();
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined && (v as Record<string, unknown>)[k] !== null)
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** The cache key for a request, or null when it must not be cached (or caching is off). */
export function responseCacheKey(tenantId: string, model: string, req: GatewayRequest): string | null {
  if (!cache() || req.stream || req.temperature !== 0) return null;
  const { stream: _s, passthrough, ...rest } = req;
  const { user: _u, ...extra } = passthrough ?? {};
  return createHash("sha256")
    .update(JSON.stringify([tenantId, model, canonical({ ...rest, passthrough: extra })]))
    .digest("hex");
}

export function cachedResult(key: string): CachedResult | undefined {
  const hit = cache()?.get(key);
  metrics().cacheLookups.inc({ result: hit ? "hit" : "miss" });
  return hit;
}

export function storeResult(key: string, entry: CachedResult): void {
  cache()?.set(key, entry);
}
