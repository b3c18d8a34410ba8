/**
 * The process-wide inference engine, and the bridge from Model rows to it.
 * A Model row is (re)registered with the pool whenever a request uses it, so
 * configuration changes take effect on the next request without a restart.
 */
import { registerCollector } from "../metrics/metrics";
import { processSlot } from "../runtime/registry";
import { type LocalModelSpec, LocalPool } from "./local-pool";

/**
 * What the engine reads of a registered model (services/models' Model row has these
 * columns and more; this layer names only what it needs, so it depends on no service).
 */
export interface ModelSource {
  name: string;
  /** a GGUF path (hf: URIs are downloaded first and never reach the engine) */
  source: string;
  kind: LocalModelSpec["kind"];
  contextSize: number;
  parallel: number;
  threads: number | null;
  chatTemplate: string | null;
}

const pool = processSlot("inference.pool", () => {
  const p = new LocalPool();
  // queue depth, slots and model state are read from the pool when /metrics is scraped
  registerCollector("models", () => p.status());
  return p;
});

export function localPool(): LocalPool {
  return pool.get();
}

export function specOf(m: ModelSource): LocalModelSpec {
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
