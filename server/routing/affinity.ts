/**
 * Session affinity for aliases (policy `affinity: "session"`), pure: a conversation keeps
 * going to the same target while that target is healthy, so upstream prompt caches
 * (llama-server slots, vLLM prefix caching, OpenAI's prompt_cache_key) keep their prefix
 * instead of least-busy or weighted routing scattering the turns.
 *
 * The session is the caller's `x-session-id` header, else the body's `prompt_cache_key`,
 * else `user`, else a hash of the system prompt and the first user message (the part of a
 * conversation that never changes between its turns) — always within the tenant. The
 * target is picked by rendezvous hashing over the healthy candidates: no state to share
 * between replicas, and when the chosen target turns unhealthy (it leaves the candidates)
 * only its sessions move, each to its next-highest target; when it recovers they come back.
 */
import { createHash } from "node:crypto";
import { type ChatMessage, contentText } from "../inference/types";

export interface SessionSource {
  /** the x-session-id header */
  sessionId?: string | null;
  passthrough?: Record<string, unknown>;
  messages?: readonly ChatMessage[];
  prompt?: string;
}

const MAX_ID = 256;

/** The session key of a request within its tenant; null when there is nothing to key on. */
export function sessionKeyOf(tenantId: string, src: SessionSource): string | null {
  const explicit = [src.sessionId, src.passthrough?.prompt_cache_key, src.passthrough?.user].find(
    (v): v is string => typeof v === "string" && v.trim() !== "",
  );
  if (explicit) return `${tenantId}\u0000id\u0000${explicit.trim().slice(0, MAX_ID)}`;
  const h = createHash("sha256").update(tenantId);
  if (src.messages?.length) {
    const system = src.messages.filter((m) => m.role === "system").map((m) => contentText(m.content));
    const firstUser = src.messages.find((m) => m.role === "user");
    if (!firstUser && !system.length) return null;
    h.update("\u0000chat\u0000").update(system.join("\u0000")).update("\u0000").update(firstUser ? contentText(firstUser.content) : "");
  } else if (src.prompt) {
    // a completion prompt grows at its end: its beginning is the conversation's
    h.update("\u0000prompt\u0000").update(src.prompt.slice(0, 1000));
  } else return null;
  return `${tenantId}\u0000hash\u0000${h.digest("hex")}`;
}

function score(session: string, key: string): bigint {
  return createHash("sha256").update(session).update("\u0000").update(key).digest().readBigUInt64BE(0);
}

/** The candidates with the session's target first (the highest rendezvous score), the rest in their order. */
export function stickyFirst<T extends { key: string }>(candidates: readonly T[], session: string): T[] {
  if (candidates.length < 2) return [...candidates];
  let best = 0;
  let bestScore = -1n;
  candidates.forEach((c, i) => {
    const s = score(session, c.key);
    if (s > bestScore) {
      best = i;
      bestScore = s;
    }
  });
  return [candidates[best]!, ...candidates.filter((_, i) => i !== best)];
}
