import { describe, expect, it } from "vitest";
import { cacheOwner, chooseSlot, commonPrefixLength, promptCacheSettings, type SlotView } from "./prompt-slots";

const slot = (owner: string | null, tokens: number[], lastUsed: number, busy = false): SlotView => ({ owner, tokens, lastUsed, busy });

describe("chooseSlot", () => {
  it("takes the same owner's free slot with the longest common prefix", () => {
    const slots = [slot("a", [1, 2, 9], 3), slot("a", [1, 2, 3, 4], 1), slot("a", [7], 5)];
    expect(chooseSlot(slots, "a", [1, 2, 3, 4, 5], 0.1, false)).toEqual({ kind: "slot", index: 1, keep: true, prefix: 4 });
  });

  it("never measures or keeps another owner's slot, even with an identical prompt", () => {
    const slots = [slot("b", [1, 2, 3, 4], 1)];
    expect(chooseSlot(slots, "a", [1, 2, 3, 4], 0.1, false)).toEqual({ kind: "slot", index: 0, keep: false, prefix: 0 });
    expect(chooseSlot(slots, "a", [1, 2, 3, 4], 0.1, true)).toEqual({ kind: "new" });
  });

  it("skips busy slots", () => {
    const slots = [slot("a", [1, 2, 3], 1, true), slot("b", [5], 2)];
    expect(chooseSlot(slots, "a", [1, 2, 3, 4], 0.1, false)).toEqual({ kind: "slot", index: 1, keep: false, prefix: 0 });
    expect(chooseSlot([slot("a", [1], 1, true)], "a", [1], 0.1, false)).toBeNull();
  });

  it("below the similarity threshold prefers a new sequence, then the least recently used slot", () => {
    const slots = [slot("a", [1, 9, 9, 9, 9, 9, 9, 9, 9, 9], 2), slot("b", [3], 1)];
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]; // 1/11 < 0.1
    expect(chooseSlot(slots, "a", prompt, 0.1, true)).toEqual({ kind: "new" });
    expect(chooseSlot(slots, "a", prompt, 0.1, false)).toEqual({ kind: "slot", index: 1, keep: false, prefix: 0 });
    expect(chooseSlot(slots, "a", prompt, 0.05, false)).toEqual({ kind: "slot", index: 0, keep: true, prefix: 1 });
  });

  it("an LRU slot of the same owner keeps its tokens", () => {
    const slots = [slot("a", [4, 4], 1), slot("b", [1], 2)];
    expect(chooseSlot(slots, "a", [1, 2], 0.1, false)).toEqual({ kind: "slot", index: 0, keep: true, prefix: 0 });
  });

  it("with caching off every slot is cleared", () => {
    const slots = [slot(null, [1, 2, 3], 1)];
    expect(chooseSlot(slots, null, [1, 2, 3], 0.1, false)).toEqual({ kind: "slot", index: 0, keep: false, prefix: 0 });
  });
});

describe("settings", () => {
  it("reads the scope and threshold with safe defaults", () => {
    expect(promptCacheSettings({})).toEqual({ scope: "tenant", similarity: 0.1 });
    expect(promptCacheSettings({ LOCAL_PROMPT_CACHE: "key", LOCAL_PROMPT_CACHE_SIMILARITY: "0.5" })).toEqual({ scope: "key", similarity: 0.5 });
    expect(promptCacheSettings({ LOCAL_PROMPT_CACHE: "off", LOCAL_PROMPT_CACHE_SIMILARITY: "7" })).toEqual({ scope: "off", similarity: 0.1 });
  });

  it("scopes the owner by tenant, or tenant and key", () => {
    expect(cacheOwner({ scope: "tenant", similarity: 0.1 }, "t1", "k1")).toBe(cacheOwner({ scope: "tenant", similarity: 0.1 }, "t1", "k2"));
    expect(cacheOwner({ scope: "key", similarity: 0.1 }, "t1", "k1")).not.toBe(cacheOwner({ scope: "key", similarity: 0.1 }, "t1", "k2"));
    expect(cacheOwner({ scope: "off", similarity: 0.1 }, "t1", "k1")).toBeNull();
    expect(commonPrefixLength([1, 2, 3], [1, 2, 4])).toBe(2);
  });
});
