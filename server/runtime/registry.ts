/**
 * The one place process-wide state lives.
 *
 * Next evaluates a server module once per bundle — instrumentation, each route handler,
 * the fast path — all in the same process, so a module-level `const cache = new Map()`
 * silently becomes several caches, several limiters, several usage writers (the one the
 * shutdown hook flushes is then not the one the routes filled). Every singleton is
 * therefore a named slot in one object kept on `globalThis` under a symbol: whichever
 * bundle asks first creates it, every other bundle gets the same instance.
 *
 * Slots are declared by their owner (server/inference/engine.ts declares `inference.pool`
 * with `processSlot(name, () => new LocalPool())`), typed there; the registry imports
 * nothing. `SlotName` lists every slot so a typo is a type error and `registry.test.ts`
 * checks each name is declared by exactly one module.
 */

/** Every process-wide slot, by owner. Add a name here when you add a slot. */
export type SlotName =
  | "db.client"
  | "inference.pool"
  | "limiter"
  | "routing.inFlight"
  | "routing.configCache"
  | "auth.replayCache"
  | "gateway.responseCache"
  | "usage.writer"
  | "usage.writerOptions"
  | "shutdown"
  | "models.pulls"
  | "backends.engines"
  | "backends.healthTimer"
  | "pricing.priceBook"
  | "metrics"
  | "metrics.collectors"
  | "http.fastPath"
  | "http.peerStamp"
  | "apiKeys.positive"
  | "apiKeys.negative"
  | "apiKeys.inFlight"
  | "apiKeys.state"
  | "apiKeys.lastUsed"
  | "requestBodies.policies"
  | "requestBodies.pending"
  | "requestBodies.stats"
  | "telemetry.tracing"
  | "logger"
  | "test.capture"
  /** registry.test.ts's own */
  | "test.registry";

const KEY = Symbol.for("switchyard.runtime");
type Store = Map<SlotName, unknown>;

function store(): Store {
  const g = globalThis as unknown as Record<symbol, Store | undefined>;
  return (g[KEY] ??= new Map());
}

export interface ProcessSlot<T> {
  readonly name: SlotName;
  /** The instance, created on first use by whichever bundle asks first. */
  get(): T;
  /** The instance if something already created it (shutdown needn't build what nobody used). */
  peek(): T | undefined;
  /** Replaces the instance (tests, benchmarks, reconfiguration); returns the previous one. */
  set(value: T): T | undefined;
  /** Forgets the instance; the next get() creates a new one. Returns the previous one. */
  clear(): T | undefined;
}

/**
 * Declares a process-wide slot. Calling it again with the same name (another bundle
 * evaluating the same module) returns a handle on the same instance.
 */
export function processSlot<T>(name: SlotName, create: () => T): ProcessSlot<T> {
  return {
    name,
    get() {
      const s = store();
      if (s.has(name)) return s.get(name) as T;
      const v = create();
      s.set(name, v);
      return v;
    },
    peek() {
      return store().get(name) as T | undefined;
    },
    set(value) {
      const s = store();
      const prev = s.get(name) as T | undefined;
      s.set(name, value);
      return prev;
    },
    clear() {
      const s = store();
      const prev = s.get(name) as T | undefined;
      s.delete(name);
      return prev;
    },
  };
}

/** Names of the slots created so far in this process (diagnostics, tests). */
export function createdSlots(): SlotName[] {
  return [...store().keys()];
}
