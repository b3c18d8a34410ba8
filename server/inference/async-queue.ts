/**
 * Turns callback-style producers into an async iterator (push → pull), unbounded.
 *
 * A waiting consumer is woken on the next event-loop turn (setImmediate), not in the
 * producer's microtask queue. The producer is node-llama-cpp's token loop: it hands us a
 * token, then schedules the next decode with setImmediate. Woken at once, our consumer
 * (JSON, SSE, socket write) ran in the microtasks before that dispatch, on every token's
 * critical path; woken a turn later it runs while llama.cpp already decodes the next token.
 * Items pushed in the meantime are delivered together.
 *
 * `wakeAtOnce`, when it says so, skips that wait: during a generation burst the engine
 * decodes the next token on its own thread, nothing waits behind our consumer, and the two
 * event-loop turns per token would be pure overhead (each a poll of the loop).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  constructor(private readonly wakeAtOnce: () => boolean = () => false) {}

  private items: T[] = [];
  private waiting: (() => void) | null = null;
  private wakeScheduled = false;
  private failed: { error: unknown } | null = null;
  private ended = false;

  push(item: T) {
    if (this.ended) return;
    this.items.push(item);
    this.wake();
  }

  end() {
    this.ended = true;
    this.wake();
  }

  fail(error: unknown) {
    this.failed = { error };
    this.end();
  }

  private wake() {
    if (!this.waiting || this.wakeScheduled) return;
    if (this.wakeAtOnce()) return this.release();
    this.wakeScheduled = true;
    setImmediate(() =>
      setImmediate(() => {
        this.wakeScheduled = false;
        this.release();
      }),
    );
  }

  private release() {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) {
        if (this.failed) throw this.failed.error;
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
