/**
 * A small in-process cache with a per-entry time to live and a size cap (least
 * recently used entries go first). For hot-path lookups whose answers may be a
 * little stale (API key and access token verification); never for anything that
 * must be shared between replicas. The clock is injectable so tests need no sleeps.
 */
export class TtlCache<K, V> {
  // a Map iterates in insertion order: re-inserting on read keeps the oldest entry first
  private readonly entries = new Map<K, { value: V; until: number }>();

  constructor(
    private readonly opts: { maxEntries: number; ttlMs: number; now?: () => number },
  ) {
    if (opts.maxEntries < 1) throw new Error("maxEntries must be at least 1");
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** The value, or undefined when absent or expired (an expired entry is dropped). */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores a value for `ttlMs` (default: the cache's TTL; never longer than it). */
  set(key: K, value: V, ttlMs: number = this.opts.ttlMs): void {
    const ttl = Math.min(ttlMs, this.opts.ttlMs);
    this.entries.delete(key);
    if (ttl <= 0) return;
    this.entries.set(key, { value, until: this.now() + ttl });
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
