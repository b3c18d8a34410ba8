import { describe, expect, it } from "vitest";
import { TtlCache } from "./ttl-cache";

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("TtlCache", () => {
  it("returns a value until its TTL has passed, then forgets it", () => {
    const c = clock();
    const cache = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 100, now: c.now });
    cache.set("a", 1);
    c.advance(99);
    expect(cache.get("a")).toBe(1);
    c.advance(1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("a per-entry TTL can be shorter than the cache's, never longer; zero or less stores nothing", () => {
    const c = clock();
    const cache = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 100, now: c.now });
    cache.set("short", 1, 10);
    cache.set("long", 2, 10_000);
    cache.set("none", 3, 0);
    expect(cache.get("none")).toBeUndefined();
    c.advance(10);
    expect(cache.get("short")).toBeUndefined();
    expect(cache.get("long")).toBe(2);
    c.advance(90);
    expect(cache.get("long")).toBeUndefined();
  });

  it("keeps at most maxEntries, evicting the least recently used", () => {
    const cache = new TtlCache<string, number>({ maxEntries: 3, ttlMs: 1_000, now: clock().now });
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    expect(cache.get("a")).toBe(1); // a is now the most recently used
    cache.set("d", 4);
    expect(cache.size).toBe(3);
    expect(cache.get("b")).toBeUndefined();
    expect([cache.get("a"), cache.get("c"), cache.get("d")]).toEqual([1, 3, 4]);
  });

  it("stays bounded under a flood of distinct keys", () => {
    const cache = new TtlCache<number, true>({ maxEntries: 100, ttlMs: 1_000, now: clock().now });
    for (let i = 0; i < 10_000; i++) cache.set(i, true);
    expect(cache.size).toBe(100);
    expect(cache.get(9_999)).toBe(true);
    expect(cache.get(0)).toBeUndefined();
  });

  it("delete and clear", () => {
    const cache = new TtlCache<string, number | null>({ maxEntries: 10, ttlMs: 1_000, now: clock().now });
    cache.set("a", 1);
    cache.set("n", null);
    expect(cache.get("n")).toBeNull(); // null is a value, distinct from "absent"
    cache.delete("a");
    expect(cache.get("a")).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
