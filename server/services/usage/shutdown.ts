/**
 * Orderly shutdown for the server process: on SIGTERM/SIGINT, stop work, let
 * in-flight requests finish (and record their usage), flush the usage log, exit.
 *
 * Call `installShutdownHooks()` once at start-up (server/startup.ts). Other
 * subsystems add their cleanup with `onShutdown(fn, { priority })`; hooks run in
 * ascending priority, hooks of equal priority concurrently:
 *
 *   SHUTDOWN_PRIORITY.abortWork  (100)   stop accepting / abort generations — the
 *                                        inference pool's hook, so streams end now
 *                                        and their handlers record usage
 *   ── wait for the host to drain (below) ──
 *   SHUTDOWN_PRIORITY.flushUsage (1000)  usageWriter().close()
 *   SHUTDOWN_PRIORITY.closeConnections (2000)  anything that must outlive the flush
 *
 * then `process.exit`. A hard timeout (10 s) exits anyway, logging what was left.
 *
 * How this fits `next start` (next 16.4.5, dist/server/lib/start-server.js, and tried
 * against a real `next build && next start`): `next start` serves in its own process
 * (no child; `next dev` forwards signals to its child) and, unless
 * NEXT_MANUAL_SIG_HANDLE is set, installs SIGINT/SIGTERM listeners *before* our
 * instrumentation runs. Its listener calls `server.close()` (stop accepting; wait for
 * open requests), then `nextServer.close()`, then `process.exit(143)` (130 for
 * SIGINT) — which cuts a plain async SIGTERM listener of ours short (tried: a
 * buffered row was lost), since listeners don't wait for each other. So when another
 * listener for the signal exists, this module holds `process.exit` for the duration
 * of the shutdown: Next's exit call is deferred until our flush is done, and its
 * exit code is kept. Meanwhile Next drains the HTTP server while our priority hooks
 * abort generations — each finished request records its row, which the flush then
 * writes. Without another listener (tsx scripts, NEXT_MANUAL_SIG_HANDLE=1, a custom
 * server) we run the same sequence ourselves and exit 0.
 *
 * `beforeExit` (the event loop ran dry, e.g. a script that recorded rows and
 * returned) flushes the usage log too; the writer's timer is unref'd so it never
 * keeps a process alive by itself.
 */
import { processSlot } from "../../runtime/registry";
import { existingUsageWriter } from "./usage-writer";
import { logger } from "../../log/logger";

export const SHUTDOWN_PRIORITY = {
  /** stop taking work and abort what runs (generations), so requests end quickly */
  abortWork: 100,
  default: 500,
  /** the usage flush: after the host drained requests, before connections close */
  flushUsage: 1000,
  /** e.g. database clients: after everything that writes */
  closeConnections: 2000,
} as const;

export type ShutdownHook = () => unknown;

interface Hook {
  name: string;
  priority: number;
  fn: ShutdownHook;
}

export interface ShutdownOptions {
  /** exit no later than this after the signal, whatever is still running */
  timeoutMs?: number;
  /** how long to wait for the host (Next) to drain requests and call process.exit before flushing anyway */
  drainTimeoutMs?: number;
  signals?: NodeJS.Signals[];
}

// One sequence per process: hooks registered from any bundle run on the one signal listener.
const state = processSlot("shutdown", () => ({ hooks: [] as Hook[], installed: false, running: false }));

function registry() {
  return state.get();
}

// warn, not info: a shutdown is worth seeing, and it stays on stderr as it always was
const log = (m: string) => logger("shutdown").warn(m);

/**
 * Runs `fn` when the process shuts down (after installShutdownHooks()). Lower
 * priorities first; see SHUTDOWN_PRIORITY. Returns a function that unregisters it.
 */
export function onShutdown(fn: ShutdownHook, opts: { name?: string; priority?: number } = {}): () => void {
  const hook: Hook = { fn, name: opts.name ?? (fn.name || "anonymous"), priority: opts.priority ?? SHUTDOWN_PRIORITY.default };
  const r = registry();
  r.hooks.push(hook);
  return () => {
    const i = r.hooks.indexOf(hook);
    if (i >= 0) r.hooks.splice(i, 1);
  };
}

/** Whether a signal's shutdown sequence is under way (e.g. to refuse new work). */
export function isShuttingDown(): boolean {
  return registry().running;
}

/** Registers the signal, beforeExit and exit listeners — once per process, however often it's called. */
export function installShutdownHooks(opts: ShutdownOptions = {}): void {
  const r = registry();
  if (r.installed) return;
  r.installed = true;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const drainTimeoutMs = Math.min(opts.drainTimeoutMs ?? 7_000, timeoutMs);

  onShutdown(() => existingUsageWriter()?.close(), { name: "usage flush", priority: SHUTDOWN_PRIORITY.flushUsage });

  const onSignal = (signal: NodeJS.Signals) => {
    if (r.running) {
      log(`${signal} again: shutdown already under way`);
      return;
    }
    r.running = true;
    const hostListens = process.listeners(signal).some((l) => l !== onSignal);
    void shutdown(signal, hostListens, timeoutMs, drainTimeoutMs);
  };
  for (const signal of opts.signals ?? ["SIGTERM", "SIGINT"]) process.on(signal, onSignal);

  process.on("beforeExit", () => {
    const writer = existingUsageWriter();
    // the flush's own I/O keeps the loop alive; beforeExit fires again afterwards, with nothing left
    if (!r.running && writer && writer.stats().buffered > 0) void writer.flush();
  });

  process.on("exit", (code) => {
    const left = existingUsageWriter()?.stats().buffered ?? 0;
    if (left > 0) log(`exiting (code ${code}) with ${left} usage rows NOT written`);
  });
}

async function shutdown(signal: NodeJS.Signals, hostListens: boolean, timeoutMs: number, drainTimeoutMs: number) {
  const started = Date.now();
  const realExit = process.exit.bind(process);
  let hostCode: number | undefined;
  let hostExited!: () => void;
  const hostExit = new Promise<void>((res) => (hostExited = res));
  // Hold the host's process.exit (see the header) until our flush is done.
  process.exit = ((code?: number | string | null) => {
    hostCode ??= Number(code ?? process.exitCode ?? 0) || 0;
    hostExited();
    return undefined as never;
  }) as typeof process.exit;

  const running = new Set<string>();
  const hard = setTimeout(() => {
    const left = existingUsageWriter()?.stats().buffered ?? 0;
    log(
      `did not finish within ${timeoutMs} ms; exiting anyway with ${left} usage rows unwritten` +
        (running.size ? `; still running: ${[...running].join(", ")}` : ""),
    );
    realExit(hostCode ?? 1);
  }, timeoutMs);

  log(`${signal}: shutting down${hostListens ? " (waiting for the server to drain)" : ""}`);
  const hooks = [...registry().hooks].sort((a, b) => a.priority - b.priority);
  const runUpTo = async (below: number) => {
    while (hooks.length && hooks[0]!.priority < below) {
      const p = hooks[0]!.priority;
      const end = hooks.findIndex((h) => h.priority !== p);
      const group = hooks.splice(0, end === -1 ? hooks.length : end);
      await Promise.all(
        group.map(async (h) => {
          running.add(h.name);
          try {
            await h.fn();
          } catch (e) {
            log(`hook "${h.name}" failed: ${(e as Error)?.message ?? String(e)}`);
          } finally {
            running.delete(h.name);
          }
        }),
      );
    }
  };

  await runUpTo(SHUTDOWN_PRIORITY.flushUsage);
  if (hostListens) {
    const left = drainTimeoutMs - (Date.now() - started);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      hostExit.then(() => true),
      new Promise<boolean>((res) => (timer = setTimeout(() => res(false), Math.max(0, left)))),
    ]);
    clearTimeout(timer);
    if (!drained) log(`the server did not finish draining within ${drainTimeoutMs} ms; flushing usage anyway`);
  }
  await runUpTo(Number.POSITIVE_INFINITY);
  clearTimeout(hard);
  const stats = existingUsageWriter()?.stats();
  if (stats) log(`usage log: ${stats.written} rows written, ${stats.buffered} left, ${stats.dropped} dropped`);
  realExit(hostCode ?? 0);
}
