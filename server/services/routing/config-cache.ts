/**
 * The in-process cache of routing configuration — aliases, models, backends, their
 * grants and backend health — that keeps the database off the request path.
 *
 * Consistency:
 *   - every change bumps ConfigStamp (one row) in the same transaction as the change
 *     (`bumpConfigStamp(tx)`), and the process that made it drops its cache once the
 *     transaction has committed (`configChange(() => db.$transaction(…))`), so the next
 *     request there sees the change;
 *   - every process polls the stamp every POLL_MS (one primary-key read, off the request
 *     path) and drops its cache when it moved, so other replicas follow within a second
 *     whatever the database (SQLite files shared by processes, or PostgreSQL);
 *   - a load that started before a drop does not write its (possibly stale) answer.
 * Entries are loaded lazily, one per name a request asks for, so the cost of a request does
 * not grow with the number of aliases, models or backends; MAX_ENTRIES bounds the memory.
 * Keys always start with the tenant id when what they hold depends on the tenant.
 */
import { type Db, type Tx, db as defaultDb } from "../../db/client";
import { processSlot } from "../../runtime/registry";
import { logger } from "../../log/logger";

export const POLL_MS = 250;
export const MAX_ENTRIES = 100_000;

interface CacheState {
  entries: Map<string, Promise<unknown>>;
  generation: number;
  seen: number | null;
  timer: NodeJS.Timeout | null;
  listeners: Set<() => void>;
}
// one cache per process, also across Next's route bundles (each bundles its own copy of this module)
const state = processSlot(
  "routing.configCache",
  (): CacheState => ({ entries: new Map(), generation: 0, seen: null, timer: null, listeners: new Set() }),
).get();

/** Drops everything this process cached (the change is already committed). */
export function invalidateConfigCache(): void {
  state.generation++;
  state.entries.clear();
  for (const l of state.listeners) l();
}

/** Called whenever the cache is dropped (e.g. to dispose of connection pools of changed backends). */
export function onConfigInvalidated(listener: () => void): () => void {
  state.listeners.add(listener);
  return () => state.listeners.delete(listener);
}

/** Inside the transaction that changes routing configuration: tells every replica. */
export async function bumpConfigStamp(tx: Tx | Db): Promise<void> {
  await tx.configStamp.upsert({ where: { id: 1 }, create: { id: 1, version: 1 }, update: { version: { increment: 1 } } });
}

/** Runs a committed change (usually a `$transaction` that calls bumpConfigStamp) and drops this process's cache after it, success or not. */
export async function configChange<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } finally {
    invalidateConfigCache();
  }
}

/** A change made outside a transaction (health, a test's direct write): bump, then drop here. */
export async function configChanged(database: Db = defaultDb()): Promise<void> {
  await configChange(() => bumpConfigStamp(database));
}

async function poll(): Promise<void> {
  const row = await defaultDb().configStamp.findUnique({ where: { id: 1 }, select: { version: true } });
  const version = row?.version ?? 0;
  if (state.seen !== null && version !== state.seen) invalidateConfigCache();
  state.seen = version;
}

function watch(): void {
  if (state.timer) return;
  let running = false;
  let warned = false;
  const tick = () => {
    if (running) return;
    running = true;
    poll()
      .then(() => (warned = false))
      .catch((e: unknown) => {
        // the database is unreachable: keep serving from what is cached, say so once
        if (!warned) logger("config-cache").warn(`cannot read the config stamp: ${(e as Error).message}`);
        warned = true;
      })
      .finally(() => (running = false));
  };
  state.timer = setInterval(tick, POLL_MS);
  state.timer.unref();
  tick();
}

/** Stops polling (tests, shutdown). */
export function stopConfigWatch(): void {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  state.seen = null;
}

/**
 * The cached value for `key`, loading it with `load` on a miss. Concurrent misses share one
 * load; a failed load is not cached.
 */
export function cachedConfig<T>(key: string, load: () => Promise<T>): Promise<T> {
  watch();
  const hit = state.entries.get(key);
  if (hit) return hit as Promise<T>;
  const generation = state.generation;
  const p = load();
  state.entries.set(key, p);
  p.then(
    () => {
      // dropped meanwhile: what was read may predate the change
      if (state.generation !== generation && state.entries.get(key) === p) state.entries.delete(key);
    },
    () => {
      if (state.entries.get(key) === p) state.entries.delete(key);
    },
  );
  if (state.entries.size > MAX_ENTRIES) state.entries.delete(state.entries.keys().next().value!);
  return p;
}
