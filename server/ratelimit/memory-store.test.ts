import { describe, expect, it } from "vitest";
import { estimateTokens } from "./estimate";
import { MemoryStore } from "./memory-store";
import type { Check } from "./store";

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const win = (limit: number, cost = 1, key = "w"): Check => ({ type: "window", key, limit, cost });

describe("MemoryStore windows", () => {
  it("admits exactly the limit within a minute, then tells when to retry", async () => {
    const c = clock();
    const s = new MemoryStore(c.now);
    let admitted = 0;
    for (let i = 0; i < 50; i++) {
      const o = await s.admit(`r${i}`, [win(10)], 1000);
      if (o.kind === "done" && o.admitted) admitted++;
      c.advance(100);
    }
    expect(admitted).toBe(10);
    const o = await s.admit("x", [win(10)], 1000);
    expect(o.kind === "done" && !o.admitted && o.results[0]!.retryMs > 0).toBe(true);
    // 10 requests went into the first second: they all leave together 60 s after it began
    c.advance(55_000); // now = start + 60 s
    const again = await s.admit("y", [win(10)], 1000);
    expect(again.kind === "done" && again.admitted).toBe(true);
  });

  it("is all-or-nothing across checks", async () => {
    const s = new MemoryStore(clock().now);
    await s.admit("a", [win(1, 1, "tenant")], 1000);
    const o = await s.admit("b", [win(5, 1, "key"), win(1, 1, "tenant")], 1000);
    expect(o.kind === "done" && o.failed).toBe(1);
    expect(await s.windowUsage("key")).toBe(0);
  });

  it("settles a reservation to the real count", async () => {
    const s = new MemoryStore(clock().now);
    const o = await s.admit("a", [win(1000, 300, "tpm")], 1000);
    expect(await s.windowUsage("tpm")).toBe(300);
    await s.settle("a", [{ type: "window", key: "tpm", bucket: o.kind === "done" ? o.bucket : 0, reserved: 300, actual: 42 }]);
    expect(await s.windowUsage("tpm")).toBe(42);
  });
});

describe("MemoryStore leases and budgets", () => {
  it("caps concurrency and frees a slot on settle, however long the request runs", async () => {
    const c = clock();
    const s = new MemoryStore(c.now);
    const lease: Check = { type: "lease", key: "c", limit: 2 };
    expect((await s.admit("a", [lease], 5000)).kind === "done").toBe(true);
    await s.admit("b", [lease], 5000);
    const third = await s.admit("c", [lease], 5000);
    expect(third.kind === "done" && third.admitted).toBe(false);
    await s.settle("a", [{ type: "lease", key: "c" }]);
    const fourth = await s.admit("d", [lease], 5000);
    expect(fourth.kind === "done" && fourth.admitted).toBe(true);
    c.advance(3_600_000); // an hour-long stream still holds its slot
    const fifth = await s.admit("e", [lease], 5000);
    expect(fifth.kind === "done" && !fifth.admitted && fifth.results[0]!.used).toBe(2);
  });

  it("asks for a seed, then admits while used < limit", async () => {
    const s = new MemoryStore(clock().now);
    const budget: Check = { type: "budget", key: "b", limit: 100, cost: 30 };
    expect(await s.admit("a", [budget], 1000)).toEqual({ kind: "seed", index: 0 });
    await s.seedBudget("b", 50, 60_000);
    await s.seedBudget("b", 0, 60_000); // a late seed doesn't overwrite
    const results: boolean[] = [];
    for (const id of ["a", "b", "c"]) {
      const o = await s.admit(id, [budget], 1000);
      results.push(o.kind === "done" && o.admitted);
    }
    expect(results).toEqual([true, true, false]); // 50 → 80 → 110: the one that crosses is the last
    expect(await s.budgetUsage("b")).toBe(110);
  });
});

describe("helpers", () => {
  it("estimates prompt size plus the most the request may generate", () => {
    expect(estimateTokens("chat.completions", { messages: [{ role: "user", content: "abcdefgh" }], max_tokens: 10 })).toBe(2 + 4 + 10);
    expect(estimateTokens("completions", { prompt: "abcd" })).toBe(1 + 1 + 16);
    expect(estimateTokens("embeddings", { input: ["abcd", "efgh"] })).toBe(2);
    expect(estimateTokens("models", undefined)).toBe(0);
  });
});
