/**
 * The process-wide inference engine, and the bridge from Model rows to it.
 * A Model row is (re)registered with the pool whenever a request uses it, so
 * configuration changes take effect on the next request without a restart.
 */
import { registerCollector } from "../metrics/metrics";
import { processSlot } from "../runtime/registry";
import type { ModelRow } from "../services/models/models";
import { type LocalModelSpec, LocalPool } from "./local-pool";

const pool = processSlot("inference.pool", () => {
  const p = new LocalPool();
  // queue depth, slots and model state are read from the pool when /metrics is scraped
  registerCollector("models", () => p.status());
  return p;
});

export function localPool(): LocalPool {
  return pool.get();
}

export function specOf(m: Pick<ModelRow, "name" | "source" | "kind" | "contextSize" | "parallel" | "threads" | "chatTemplate">): LocalModelSpec {
  return {
    name: m.name,
    path: m.source,
    kind: m.kind,
    contextSize: m.contextSize,
    parallel: m.parallel,
    threads: m.threads,
    chatTemplate: m.chatTemplate,
  };
}

/** The engine that serves this model, with the model registered. */
export async function engineFor(m: Parameters<typeof specOf>[0]) {
  const pool = localPool();
  await pool.register(specOf(m));
  return pool;
}
