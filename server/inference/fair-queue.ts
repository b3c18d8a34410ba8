/**
 * A bounded wait queue for a model's slots, fair across tenants: waiters are kept
 * per tenant and served round-robin, so one tenant's burst cannot starve others.
 * When the queue is full, `acquire` fails fast (the caller answers 429 with Retry-After).
 */
import { AppError } from "../errors";
import { metrics } from "../metrics/metrics";
import { startActiveChildSpan } from "../telemetry/tracing";

interface Waiter {
  tenantId: string;
  resolve: (release: () => void) => void;
  reject: (e: unknown) => void;
  cleanup: () => void;
}

export class FairSlots {
  private active = 0;
  private queued = 0;
  private readonly byTenant = new Map<string, Waiter[]>();
  /** round-robin order of tenants that have waiters */
  private readonly ring: string[] = [];

  constructor(
    private slots: number,
    private readonly maxQueue: number,
    private readonly label: string,
  ) {}

  get stats() {
    return { slots: this.slots, active: this.active, queued: this.queued };
  }

  /**
   * A slot, once one is free. With tracing on, the wait and the time the slot is held
   * are spans under the active attempt span ("queue wait", "local generation").
   */
  acquire(tenantId: string, signal: AbortSignal): Promise<() => void> {
    const wait = startActiveChildSpan("queue wait", { "switchyard.model": this.label, "switchyard.queue.depth": this.queued });
    if (!wait) return this.acquireSlot(tenantId, signal);
    return this.acquireSlot(tenantId, signal).then(
      (release) => {
        wait.end();
        const held = startActiveChildSpan("local generation", { "switchyard.model": this.label });
        return () => {
          held?.end();
          release();
        };
      },
      (e: unknown) => {
        wait.setAttribute("error.type", e instanceof AppError ? e.code : "aborted").end();
        throw e;
      },
    );
  }

  private acquireSlot(tenantId: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.active < this.slots && this.queued === 0) {
      this.active++;
      metrics().queueWait.observe({ model: this.label }, 0);
      return Promise.resolve(this.releaser());
    }
    if (this.queued >= this.maxQueue) {
      return Promise.reject(
        new AppError("rate_limited", `Model ${this.label} is at capacity (${this.queued} requests waiting); retry shortly`, {
          code: "model_overloaded",
          retryAfter: Math.max(1, Math.ceil(this.queued / Math.max(1, this.slots))),
        }),
      );
    }
    const queuedAt = performance.now();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        reject(signal.reason);
      };
      const granted = (release: () => void) => {
        metrics().queueWait.observe({ model: this.label }, (performance.now() - queuedAt) / 1000);
        resolve(release);
      };
      const waiter: Waiter = { tenantId, resolve: granted, reject, cleanup: () => signal.removeEventListener("abort", onAbort) };
      signal.addEventListener("abort", onAbort, { once: true });
      let list = this.byTenant.get(tenantId);
      if (!list) {
        list = [];
        this.byTenant.set(tenantId, list);
        this.ring.push(tenantId);
      }
      list.push(waiter);
      this.queued++;
    });
  }

  /** Rejects everyone waiting (shutdown, model unloaded). */
  rejectAll(error: unknown) {
    for (const list of this.byTenant.values()) {
      for (const w of list) {
        w.cleanup();
        w.reject(error);
      }
    }
    this.byTenant.clear();
    this.ring.length = 0;
    this.queued = 0;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.next();
    };
  }

  private next() {
    while (this.active < this.slots && this.ring.length > 0) {
      const tenantId = this.ring.shift()!;
      const list = this.byTenant.get(tenantId)!;
      const waiter = list.shift()!;
      if (list.length > 0) this.ring.push(tenantId);
      else this.byTenant.delete(tenantId);
      this.queued--;
      this.active++;
      waiter.cleanup();
      waiter.resolve(this.releaser());
    }
  }

  private remove(waiter: Waiter) {
    const list = this.byTenant.get(waiter.tenantId);
    if (!list) return;
    const i = list.indexOf(waiter);
    if (i < 0) return;
    list.splice(i, 1);
    this.queued--;
    if (list.length === 0) {
      this.byTenant.delete(waiter.tenantId);
      const r = this.ring.indexOf(waiter.tenantId);
      if (r >= 0) this.ring.splice(r, 1);
    }
  }
}
