import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { metrics, registerCollector } from "./metrics";

async function exposition(name: string): Promise<string> {
  return metrics().registry.getSingleMetricAsString(name);
}

describe("metrics collectors", () => {
  it("metrics.ts imports nothing from the modules it reports on (they register collectors)", () => {
    const source = readFileSync(join(__dirname, "metrics.ts"), "utf8");
    const imports = [...source.matchAll(/^import[^"]*"([^"]+)"/gm)].map((m) => m[1]);
    expect(imports.sort()).toEqual(["../runtime/registry", "prom-client"]);
  });

  it("scrape-time gauges read what the owners registered; a later registration replaces the source", async () => {
    // nothing registered: the pool gauges have no series, the writer's read 0
    expect(await exposition("switchyard_inference_queue_depth")).not.toMatch(/model=/);
    expect(await exposition("switchyard_usage_writer_backlog")).toMatch(/^switchyard_usage_writer_backlog 0$/m);

    registerCollector("models", () => [
      { name: "m1", state: "ready", queued: 3, active: 2, slots: 4, sizeBytes: 1234 },
      { name: "m2", state: "unloaded", queued: 0, active: 0, slots: 1, sizeBytes: null },
    ]);
    registerCollector("usageWriter", () => ({ buffered: 7, written: 40, dropped: 1, rejected: 2, failedFlushes: 3 }));
    registerCollector("limiter", () => ({ backend: "redis", failMode: "closed", up: false }));

    expect(await exposition("switchyard_inference_queue_depth")).toMatch(/^switchyard_inference_queue_depth\{model="m1"\} 3$/m);
    expect(await exposition("switchyard_inference_active")).toMatch(/^switchyard_inference_active\{model="m1"\} 2$/m);
    expect(await exposition("switchyard_inference_slots")).toMatch(/^switchyard_inference_slots\{model="m2"\} 1$/m);
    const loaded = await exposition("switchyard_model_loaded");
    expect(loaded).toMatch(/^switchyard_model_loaded\{model="m1",state="ready"\} 1$/m);
    expect(loaded).toMatch(/^switchyard_model_loaded\{model="m2",state="unloaded"\} 1$/m);
    const memory = await exposition("switchyard_model_memory_bytes");
    expect(memory).toMatch(/^switchyard_model_memory_bytes\{model="m1"\} 1234$/m);
    expect(memory).not.toMatch(/m2/);
    expect(await exposition("switchyard_usage_writer_backlog")).toMatch(/^switchyard_usage_writer_backlog 7$/m);
    expect(await exposition("switchyard_usage_writer_written_rows")).toMatch(/^switchyard_usage_writer_written_rows 40$/m);
    expect(await exposition("switchyard_usage_writer_dropped_rows")).toMatch(/^switchyard_usage_writer_dropped_rows 1$/m);
    expect(await exposition("switchyard_usage_writer_rejected_rows")).toMatch(/^switchyard_usage_writer_rejected_rows 2$/m);
    expect(await exposition("switchyard_db_errors_total")).toMatch(/^switchyard_db_errors_total\{source="usage_writer"\} 3$/m);
    expect(await exposition("switchyard_ratelimit_backend_up")).toMatch(/^switchyard_ratelimit_backend_up\{backend="redis",fail_mode="closed"\} 0$/m);

    // setLimiter registers the new limiter: the old one's series is gone
    registerCollector("limiter", () => ({ backend: "memory", failMode: "open", up: true }));
    const up = await exposition("switchyard_ratelimit_backend_up");
    expect(up).toMatch(/^switchyard_ratelimit_backend_up\{backend="memory",fail_mode="open"\} 1$/m);
    expect(up).not.toMatch(/redis/);
  });
});
