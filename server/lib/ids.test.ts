import { describe, expect, it } from "vitest";
import { type IdPrefix, newId } from "./ids";

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const PREFIXES: IdPrefix[] = ["usr", "tnt", "mem", "key", "mdl", "mgr", "bke", "bgr", "pol", "pov", "req", "rol", "aud"];

/** The millisecond timestamp in an id's first 10 characters after the prefix. */
function decodeTime(id: string): number {
  const time = id.split("_")[1]!.slice(0, 10);
  return [...time].reduce((acc, ch) => acc * 32 + CROCKFORD.indexOf(ch), 0);
}

describe("newId", () => {
  it.each(PREFIXES)("starts with %s_ and has 26 lower-case Crockford characters", (prefix) => {
    const id = newId(prefix);
    expect(id).toMatch(new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`));
  });

  it("encodes the creation time in its first 10 characters", () => {
    for (const t of [0, 1, 31, 32, 1_700_000_000_000, 2 ** 48 - 1]) expect(decodeTime(newId("req", t))).toBe(t);
    const before = Date.now();
    const t = decodeTime(newId("req"));
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it("sorts as strings in the order of creation time", () => {
    const times = [0, 9, 10, 31, 32, 1023, 1024, 1_600_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 2 ** 47];
    for (let i = 0; i < 200; i++) times.push(Math.floor(Math.random() * 2 ** 45));
    const ids = times.map((t) => ({ t, id: newId("aud", t) }));
    const byTime = [...ids].sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1)).map((x) => x.id);
    const byString = ids.map((x) => x.id).sort();
    expect(byString).toEqual(byTime);
  });

  it("is unique, also within one millisecond", () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 20_000 }, () => newId("key", now)));
    expect(ids.size).toBe(20_000);
  });

  it("uses the whole random alphabet (80 random bits, not a constant tail)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) for (const ch of newId("req", 0).slice(14)) seen.add(ch);
    expect([...seen].sort().join("")).toBe(CROCKFORD);
  });
});
