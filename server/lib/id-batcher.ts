/**
 * Collects ids on a hot path and writes them in one batch later, so a request never
 * waits on (or contends for) a write it doesn't need — e.g. API keys' lastUsedAt.
 * The first `add` after a flush arms one timer (unref'd: it never keeps a process
 * alive); `flush()` writes everything collected so far, and is what shutdown hooks
 * and tests call. A failed write puts its ids back for the next flush.
 */
export class IdBatcher {
  private pending = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (ids: string[]) => Promise<void>,
    private readonly opts: { intervalMs: number; onError?: (e: unknown) => void },
  ) {}

  add(id: string): void {
    this.pending.add(id);
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.opts.intervalMs);
    this.timer.unref?.();
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Writes the ids collected so far (one `write` call, none if there are none). Never throws.
   * `write` overrides the writer for this flush only (tests pass an instrumented one).
   */
  flush(write: (ids: string[]) => Promise<void> = this.write): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // flushes run one after another, so a slow write is never overtaken by a later, smaller one
    this.inFlight = this.inFlight.then(() => this.writePending(write));
    return this.inFlight;
  }

  private async writePending(write: (ids: string[]) => Promise<void>): Promise<void> {
    if (this.pending.size === 0) return;
    const ids = [...this.pending];
    this.pending = new Set();
    try {
      await write(ids);
    } catch (e) {
      for (const id of ids) this.pending.add(id);
      this.opts.onError?.(e);
      // try again later rather than dropping them; add() arms the timer only when it is idle
      if (!this.timer) {
        this.timer = setTimeout(() => void this.flush(), this.opts.intervalMs);
        this.timer.unref?.();
      }
    }
  }
}
