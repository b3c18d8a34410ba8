/**
 * Which kept sequence ("slot") of a local model a request runs on — pure, no llama.cpp.
 *
 * A slot remembers the tokens its last request left in the KV cache. A request takes the
 * free slot of its own owner (the tenant, or tenant + API key) whose tokens share the
 * longest prefix with its rendered prompt, when that prefix is more than `similarity` of
 * the prompt (llama-server's `--slot-prompt-similarity`, default 0.1); node-llama-cpp then
 * evaluates only the rest. Otherwise it takes a slot never used, or the least recently used
 * free one — and a slot that belonged to another owner is cleared before use.
 *
 * Never across owners: a prefix cache shared between tenants is a timing side channel
 * (the time to first token tells whether another tenant sent the same prefix; vLLM
 * CVE-2025-46570). So another owner's slot is only ever taken after erasing it, and its
 * prefix is never measured against the request.
 */
import { promptCacheEnv } from "../env";

export type PromptCacheScope = "tenant" | "key" | "off";

export interface PromptCacheSettings {
  scope: PromptCacheScope;
  /** fraction of the prompt a cached prefix must exceed to be chosen (0..1) */
  similarity: number;
}

export const DEFAULT_PROMPT_SIMILARITY = 0.1;

/** The setting (LOCAL_PROMPT_CACHE, LOCAL_PROMPT_CACHE_SIMILARITY): by default the validated environment (server/env.ts). */
export function promptCacheSettings(
  source: { LOCAL_PROMPT_CACHE?: string; LOCAL_PROMPT_CACHE_SIMILARITY?: string | number } = promptCacheEnv(),
): PromptCacheSettings {
  const raw = (source.LOCAL_PROMPT_CACHE ?? "tenant").trim().toLowerCase();
  const scope: PromptCacheScope = raw === "key" || raw === "off" ? raw : "tenant";
  const sim = Number(source.LOCAL_PROMPT_CACHE_SIMILARITY ?? DEFAULT_PROMPT_SIMILARITY);
  return { scope, similarity: Number.isFinite(sim) && sim >= 0 && sim <= 1 ? sim : DEFAULT_PROMPT_SIMILARITY };
}

/** Whose cache a request may use: null when caching is off (every slot is cleared before use). */
export function cacheOwner(settings: PromptCacheSettings, tenantId: string, apiKeyId: string | null | undefined): string | null {
  if (settings.scope === "off") return null;
  // the separator cannot occur in ids (cuid-like), so tenant "a/b" + key "c" ≠ tenant "a" + key "b/c"
  return settings.scope === "key" ? `${tenantId}\u0000${apiKeyId ?? ""}` : tenantId;
}

export interface SlotView {
  owner: string | null;
  busy: boolean;
  /** monotonic stamp of the last use */
  lastUsed: number;
  tokens: readonly number[];
}

export type SlotChoice =
  /** run on slot `index`; `keep` false: erase its tokens first (another owner's, or caching off) */
  | { kind: "slot"; index: number; keep: boolean; prefix: number }
  /** create a new sequence (fewer slots than `parallel` exist) */
  | { kind: "new" };

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Picks the slot for a prompt. `canGrow`: another sequence may be created. Returns null
 * only when every slot is busy and none may be created (the caller's admission queue
 * prevents that).
 */
export function chooseSlot(slots: readonly SlotView[], owner: string | null, prompt: readonly number[], similarity: number, canGrow: boolean): SlotChoice | null {
  if (owner !== null && prompt.length > 0) {
    let best = -1;
    let bestLen = 0;
    slots.forEach((s, i) => {
      if (s.busy || s.owner !== owner) return;
      const len = commonPrefixLength(s.tokens, prompt);
      if (len > bestLen || (len === bestLen && best >= 0 && len > 0 && s.lastUsed > slots[best]!.lastUsed)) {
        best = i;
        bestLen = len;
      }
    });
    if (best >= 0 && bestLen / prompt.length > similarity) return { kind: "slot", index: best, keep: true, prefix: bestLen };
  }
  // a never-used sequence before evicting anyone's cache
  if (canGrow) return { kind: "new" };
  let lru = -1;
  slots.forEach((s, i) => {
    if (s.busy) return;
    if (lru < 0 || s.lastUsed < slots[lru]!.lastUsed) lru = i;
  });
  if (lru < 0) return null;
  const s = slots[lru]!;
  // the same owner's slot keeps its tokens: whatever prefix it shares is theirs to reuse
  const keep = owner !== null && s.owner === owner;
  return { kind: "slot", index: lru, keep, prefix: keep ? commonPrefixLength(s.tokens, prompt) : 0 };
}
