import { processSlot } from "../runtime/registry";

/**
 * Requests in flight per routing target in this process — what least-busy
 * routing compares. Per process on purpose: each replica balances the load it
 * sends; a shared counter would cost a round trip per request.
 */
class InFlight {
  private counts = new Map<string, number>();
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  /** Counts one request on `key` until the returned function is called (once). */
  begin(key: string): () => void {
    this.counts.set(key, this.get(key) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = this.get(key) - 1;
      if (n > 0) this.counts.set(key, n);
      else this.counts.delete(key);
    };
  }
}

export const inFlight: InFlight = processSlot("routing.inFlight", () => new InFlight()).get();
