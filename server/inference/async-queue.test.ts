import { describe, expect, it } from "vitest";
import { AsyncQueue } from "./async-queue";

const turn = () => new Promise<void>((r) => setImmediate(r));

async function firstItemAfterPush(queue: AsyncQueue<number>) {
  const order: string[] = [];
  const iterator = queue[Symbol.asyncIterator]();
  const next = iterator.next().then((r) => order.push(`item ${r.value}`));
  await Promise.resolve(); // the consumer is waiting now
  queue.push(1);
  await Promise.resolve();
  await Promise.resolve();
  order.push("microtasks done");
  await turn();
  order.push("one turn");
  await turn();
  await turn();
  await next;
  return order;
}

describe("AsyncQueue", () => {
  it("delivers pushed items in order, then ends or fails", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.push(2);
    q.end();
    const seen: number[] = [];
    for await (const x of q) seen.push(x);
    expect(seen).toEqual([1, 2]);

    const failing = new AsyncQueue<number>();
    failing.push(1);
    failing.fail(new Error("boom"));
    const it = failing[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 1, done: false });
    await expect(it.next()).rejects.toThrow("boom");
  });

  it("wakes a waiting consumer a turn later by default, so the producer's next step runs first", async () => {
    expect(await firstItemAfterPush(new AsyncQueue<number>())).toEqual(["microtasks done", "one turn", "item 1"]);
  });

  it("wakes it at once when wakeAtOnce says so", async () => {
    const order = await firstItemAfterPush(new AsyncQueue<number>(() => true));
    expect(order.indexOf("item 1")).toBeLessThan(order.indexOf("one turn"));
  });
});
