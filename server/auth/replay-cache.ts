/**
 * Signatures already accepted, so a captured signed request cannot be sent again.
 * Keyed by API key id + signature, each entry kept until its timestamp leaves the
 * window (after that the signature is refused as expired anyway).
 *
 * REDIS_URL set: one cache for every replica (`SET … NX PX`, one round trip; the
 * tenant id is the key's hash tag like the limiter's). Unset: this process only —
 * correct for one replica. Redis unreachable: RATE_LIMIT_FAIL_MODE=open falls back
 * to this process's cache (replays across replicas are then possible until Redis is
 * back; a warning says so), closed answers 503.
 */
import { Redis } from "ioredis";
import { env } from "../env";
import { AppError } from "../errors";
import { processSlot } from "../runtime/registry";
import { logger } from "../log/logger";

export interface ReplayCache {
  /** Records `id`; true when it was already there (a replay). */
  seen(tenantId: string, id: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export class MemoryReplayCache implements ReplayCache {
  private entries = new Map<string, number>();
  constructor(private readonly maxEntries = 200_000) {}

  async seen(tenantId: string, id: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const key = `${tenantId}:${id}`;
    const until = this.entries.get(key);
    if (until !== undefined && until > now) return true;
    if (this.entries.size >= this.maxEntries) this.sweep(now);
    this.entries.set(key, now + ttlMs);
    return false;
  }

  /** Drops expired entries; if still full, the oldest (Map order is insertion order). */
  private sweep(now: number) {
    for (const [k, until] of this.entries) if (until <= now) this.entries.delete(k);
    for (const k of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(k);
    }
  }

  get size() {
    return this.entries.size;
  }

  async close() {
    this.entries.clear();
  }
}

export class RedisReplayCache implements ReplayCache {
  private client: Redis;
  private fallback = new MemoryReplayCache();
  private warned = false;

  constructor(private readonly opts: { url: string; timeoutMs: number; failMode: "open" | "closed" }) {
    this.client = new Redis(opts.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    this.client.on("error", () => {}); // surfaced per call below
    this.client.on("ready", () => (this.warned = false));
  }

  async seen(tenantId: string, id: string, ttlMs: number): Promise<boolean> {
    try {
      if (this.client.status === "wait") await this.client.connect();
      const r = await this.client.set(`sy:{${tenantId}}:sig:${id}`, "1", "PX", Math.max(1, Math.ceil(ttlMs)), "NX");
      return r === null;
    } catch (e) {
      if (this.opts.failMode === "closed") {
        throw new AppError("unavailable", "Signed requests cannot be checked right now; try again shortly", {
          code: "signature_check_unavailable",
        });
      }
      if (!this.warned) {
        this.warned = true;
        logger("replay-cache").warn(`Redis unreachable (${(e as Error).message}); checking replays in this process only`);
      }
      return this.fallback.seen(tenantId, id, ttlMs);
    }
  }

  async close() {
    this.client.disconnect();
  }
}

// One cache per process, whichever bundle asks first (server/runtime/registry.ts).
const slot = processSlot<ReplayCache>("auth.replayCache", () => {
  const e = env();
  return e.REDIS_URL
    ? new RedisReplayCache({ url: e.REDIS_URL, timeoutMs: e.RATE_LIMIT_REDIS_TIMEOUT_MS, failMode: e.RATE_LIMIT_FAIL_MODE })
    : new MemoryReplayCache();
});

export function replayCache(): ReplayCache {
  return slot.get();
}

/** Tests: start over (e.g. after changing REDIS_URL). */
export async function resetReplayCache(): Promise<void> {
  await slot.peek()?.close();
  slot.clear();
}
