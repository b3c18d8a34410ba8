import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IdBatcher } from "./id-batcher";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function recorder() {
  const calls: string[][] = [];
  return { calls, write: async (ids: string[]) => void calls.push([...ids].sort()) };
}

describe("IdBatcher", () => {
  it("writes nothing on add; one write with every distinct id when the interval passes", async () => {
    const r = recorder();
    const b = new IdBatcher(r.write, { intervalMs: 5_000 });
    b.add("a");
    b.add("b");
    b.add("a");
    expect(r.calls).toEqual([]);
    expect(b.size).toBe(2);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(r.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.calls).toEqual([["a", "b"]]);
    expect(b.size).toBe(0);
  });

  it("arms one timer per batch, and none while idle", async () => {
    const r = recorder();
    const b = new IdBatcher(r.write, { intervalMs: 1_000 });
    for (let i = 0; i < 100; i++) b.add(`k${i % 3}`);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.calls).toHaveLength(1);
  });

  it("flush() writes at once and cancels the timer; an empty flush writes nothing", async () => {
    const r = recorder();
    const b = new IdBatcher(r.write, { intervalMs: 1_000 });
    await b.flush();
    expect(r.calls).toEqual([]);
    b.add("x");
    await b.flush();
    expect(r.calls).toEqual([["x"]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a flush can use another writer for that flush only", async () => {
    const r = recorder();
    const other = recorder();
    const b = new IdBatcher(r.write, { intervalMs: 1_000 });
    b.add("x");
    await b.flush(other.write);
    b.add("y");
    await b.flush();
    expect(other.calls).toEqual([["x"]]);
    expect(r.calls).toEqual([["y"]]);
  });

  it("a failed write keeps its ids for a retry, reports the error, and never throws", async () => {
    const errors: unknown[] = [];
    let fail = true;
    const calls: string[][] = [];
    const b = new IdBatcher(
      async (ids) => {
        calls.push([...ids].sort());
        if (fail) throw new Error("db down");
      },
      { intervalMs: 1_000, onError: (e) => errors.push(e) },
    );
    b.add("a");
    await expect(b.flush()).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(b.size).toBe(1);
    b.add("b");
    fail = false;
    await vi.advanceTimersByTimeAsync(1_000); // the retry timer armed by the failure
    expect(calls).toEqual([["a"], ["a", "b"]]);
    expect(b.size).toBe(0);
  });
});
