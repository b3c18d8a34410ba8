/**
 * Prometheus metrics (prom-client), served at <base>/metrics (app/metrics/route.ts).
 *
 * One registry per process, in a process slot (server/runtime/registry.ts): Next
 * bundles route handlers and instrumentation separately, so this module can be
 * evaluated more than once in the same process — module-level state would split the
 * counters between bundles.
 *
 * Counters and histograms are updated where things happen (the /v1 wrapper, the
 * limiter, the fair queue); state that already lives elsewhere (queue depth, loaded
 * models, usage-writer backlog) is read at scrape time from collectors its owners
 * register (`registerCollector`) where they create the process-wide instance. So this
 * module imports none of them: they import it (the inference pool counts queue waits
 * here), and the shapes it reads are declared below.
 * Add a metric here, with a name starting `switchyard_`, and mention it in README.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { processSlot } from "../runtime/registry";

/** What the limiter reports about itself at scrape time (registered by server/ratelimit/limiter.ts). */
export interface LimiterStatus {
  backend: "memory" | "redis";
  failMode: "open" | "closed";
  /** 1 when the backend answered its last call, 0 when it failed */
  up: boolean;
}

/** One model of the inference pool at scrape time (registered by server/inference/engine.ts). */
export interface ModelGaugeStatus {
  name: string;
  /** unloaded | loading | ready | failed */
  state: string;
  queued: number;
  active: number;
  slots: number;
  sizeBytes: number | null;
}

/** The usage writer's counts at scrape time (registered by server/services/usage/usage-writer.ts). */
export interface UsageWriterCounts {
  buffered: number;
  written: number;
  dropped: number;
  rejected: number;
  failedFlushes: number;
}

/** The scrape-time sources, one per owner; a source nobody registered reads as absent. */
export interface Collectors {
  models: () => readonly ModelGaugeStatus[];
  usageWriter: () => UsageWriterCounts;
  limiter: () => LimiterStatus;
}

const collectors = processSlot("metrics.collectors", (): Partial<Collectors> => ({}));

/** Sets (or replaces) the scrape-time source `name`: call it where the process-wide instance is created. */
export function registerCollector<K extends keyof Collectors>(name: K, collect: Collectors[K]): void {
  collectors.get()[name] = collect;
}

const sources = {
  models: () => collectors.get().models?.() ?? [],
  usageWriter: () => collectors.get().usageWriter?.(),
  limiter: () => collectors.get().limiter?.(),
};

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function create() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "switchyard_" });

  const requests = new Counter({
    name: "switchyard_http_requests_total",
    help: "/api/v1 requests by route, HTTP status, model served and tenant (slug)",
    labelNames: ["route", "status", "model", "tenant"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "switchyard_http_request_duration_seconds",
    help: "/api/v1 request latency, until the last byte of a stream",
    labelNames: ["route", "status", "model", "tenant"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const ttft = new Histogram({
    name: "switchyard_time_to_first_token_seconds",
    help: "Time from request start to the first generated token",
    labelNames: ["route", "model", "tenant"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tokens = new Counter({
    name: "switchyard_tokens_total",
    help: "Tokens processed: direction=in (prompt) or out (completion)",
    labelNames: ["direction", "model", "tenant"] as const,
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: "switchyard_inference_queue_wait_seconds",
    help: "Time a request waited for a free slot of its model",
    labelNames: ["model"] as const,
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  const promptCacheTokens = new Counter({
    name: "switchyard_prompt_cache_tokens_total",
    help: "Prompt tokens of local generations: result=hit (kept in the tenant's KV cache slot, not evaluated again) or miss (evaluated)",
    labelNames: ["result", "model"] as const,
    registers: [registry],
  });
  const rateLimitRejections = new Counter({
    name: "switchyard_ratelimit_rejections_total",
    help: "Requests refused by a limit: scope=tenant|key, limit=rpm|tpm|concurrency|budget",
    labelNames: ["tenant", "scope", "limit"] as const,
    registers: [registry],
  });
  const rateLimitBackendErrors = new Counter({
    name: "switchyard_ratelimit_backend_errors_total",
    help: "Limiter calls that failed because its backend (Redis) was unreachable, by the fail mode applied",
    labelNames: ["fail_mode"] as const,
    registers: [registry],
  });
  const budgetWarnings = new Counter({
    name: "switchyard_budget_warnings_total",
    help: "Responses that carried a monthly-budget warning (usage past the warning threshold)",
    labelNames: ["tenant", "scope"] as const,
    registers: [registry],
  });
  let mirroredWriterFailures = 0;
  const dbErrors = new Counter({
    name: "switchyard_db_errors_total",
    help: "Database errors by where they happened (usage_writer counts failed batch writes)",
    labelNames: ["source"] as const,
    registers: [registry],
    collect() {
      // The writer keeps its own cumulative count; mirror it so one metric covers every source.
      const failed = sources.usageWriter()?.failedFlushes ?? 0;
      if (failed > mirroredWriterFailures) this.inc({ source: "usage_writer" }, failed - mirroredWriterFailures);
      mirroredWriterFailures = Math.max(mirroredWriterFailures, failed);
    },
  });
  const cacheLookups = new Counter({
    name: "switchyard_response_cache_lookups_total",
    help: "Response cache lookups by result (hit|miss)",
    labelNames: ["result"] as const,
    registers: [registry],
  });

  new Gauge({
    name: "switchyard_inference_queue_depth",
    help: "Requests waiting for a slot, per model",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.models()) this.set({ model: m.name }, m.queued);
    },
  });
  new Gauge({
    name: "switchyard_inference_active",
    help: "Requests holding a slot (generating), per model",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.models()) this.set({ model: m.name }, m.active);
    },
  });
  new Gauge({
    name: "switchyard_inference_slots",
    help: "Parallel sequences per model",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.models()) this.set({ model: m.name }, m.slots);
    },
  });
  new Gauge({
    name: "switchyard_model_loaded",
    help: "1 for each model known to this process in its current state (unloaded|loading|ready|failed)",
    labelNames: ["model", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.models()) this.set({ model: m.name, state: m.state }, 1);
    },
  });
  new Gauge({
    name: "switchyard_model_memory_bytes",
    help: "Size of each loaded model's weights",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.models()) if (m.sizeBytes !== null) this.set({ model: m.name }, m.sizeBytes);
    },
  });

  const writerGauge = (name: string, help: string, pick: (s: UsageWriterCounts) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const s = sources.usageWriter();
        this.set(s ? pick(s) : 0);
      },
    });
  // Cumulative counts that live in the writer are exposed as gauges: prom-client counters can't be set.
  writerGauge("switchyard_usage_writer_backlog", "Usage rows buffered, not yet in the database", (s) => s.buffered);
  writerGauge("switchyard_usage_writer_written_rows", "Usage rows written since start (cumulative)", (s) => s.written);
  writerGauge("switchyard_usage_writer_dropped_rows", "Usage rows dropped because the buffer was full since start — should stay 0", (s) => s.dropped);
  writerGauge("switchyard_usage_writer_rejected_rows", "Usage rows the database refused and were set aside since start — should stay 0", (s) => s.rejected);

  new Gauge({
    name: "switchyard_ratelimit_backend_up",
    help: "1 when the limiter's backend answered its last call (always 1 for the in-process backend)",
    labelNames: ["backend", "fail_mode"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const s = sources.limiter();
      if (s) this.set({ backend: s.backend, fail_mode: s.failMode }, s.up ? 1 : 0);
    },
  });

  const authDenials = new Counter({
    name: "switchyard_auth_denials_total",
    help: "/api/v1 requests refused before any work, by reason (the error code: invalid_api_key, ip_not_allowed, signature_invalid, …) and tenant (slug; empty when no key was identified)",
    labelNames: ["reason", "tenant"] as const,
    registers: [registry],
  });

  const spend = new Counter({
    name: "switchyard_spend_total",
    help: "Cost of /api/v1 requests in the deployment's currency (label currency), by model served and tenant; unpriced requests add nothing here and count in switchyard_unpriced_requests_total",
    labelNames: ["model", "tenant", "currency"] as const,
    registers: [registry],
  });
  const unpriced = new Counter({
    name: "switchyard_unpriced_requests_total",
    help: "Requests served by a model that has no price (their cost is unknown, not 0): set one in the console's Prices page or `cli prices set`",
    labelNames: ["model", "tenant"] as const,
    registers: [registry],
  });
  const usageRollupFailures = new Counter({
    name: "switchyard_usage_rollup_failures_total",
    help: "Usage batches whose hourly rollups could not be written (their request log rows were kept) — should stay 0",
    registers: [registry],
  });

  return {
    registry,
    requests,
    spend,
    unpriced,
    usageRollupFailures,
    authDenials,
    duration,
    ttft,
    tokens,
    queueWait,
    promptCacheTokens,
    rateLimitRejections,
    rateLimitBackendErrors,
    budgetWarnings,
    dbErrors,
    cacheLookups,
  };
}

export type Metrics = ReturnType<typeof create>;

const slot = processSlot("metrics", create);

export function metrics(): Metrics {
  return slot.get();
}

/** Prisma's errors, recognised by name without importing either generated client. */
export function isDbError(e: unknown): boolean {
  return e instanceof Error && /^PrismaClient|DriverAdapterError/.test(e.name);
}
