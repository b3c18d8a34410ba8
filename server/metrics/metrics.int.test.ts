/**
 * <base>/metrics: the bearer token, and the exposition parsed by a real Prometheus
 * text-format parser, with counters moving as real requests (real llama.cpp on the
 * tiny model) go through /api/v1.
 */
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from "parse-prometheus-text-format";
import { afterAll, beforeAll, expect, it } from "vitest";

const TOKEN = `metrics-token-${"x".repeat(20)}`;
process.env.METRICS_TOKEN = TOKEN;

const { db } = await import("../db/client");
const { localPool } = await import("../inference/engine");
const { CLI_ACTOR } = await import("../services/audit/audit");
const { createApiKey } = await import("../services/api-keys/api-keys");
const { setKeyLimits } = await import("../services/limits/limits");
const { usageWriter } = await import("../services/usage/usage-writer");
const { makeTenant, uniq } = await import("../test/fixtures");
const { startV1Server } = await import("../test/v1-server");
const { registerTinyModel } = await import("../test/tiny-model");

let server: { url: string; close: () => Promise<void> };
let MODEL: string;

beforeAll(async () => {
  MODEL = await registerTinyModel("metrics");
  server = await startV1Server();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

/**
 * The exposition, parsed twice: as is (the parser throws on any malformed line, and
 * types every family), and with histograms declared untyped — the parser folds a
 * histogram's labelled series into one unlabelled sample, so per-label `_count`
 * series are read as plain series.
 */
async function scrape(): Promise<PromFamily[]> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const text = await res.text();
  const typed = parsePrometheusTextFormat(text);
  const histograms = typed.filter((f) => f.type === "HISTOGRAM").map((f) => f.name);
  expect(histograms).toContain("switchyard_http_request_duration_seconds");
  const flat = parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, "# TYPE $1 untyped"));
  return [...typed.filter((f) => f.type !== "HISTOGRAM"), ...flat.filter((f) => f.type === "UNTYPED")];
}

function sample(families: PromFamily[], name: string, labels: Record<string, string> = {}): PromSample | undefined {
  const f = families.find((x) => x.name === name);
  return f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}
const value = (families: PromFamily[], name: string, labels: Record<string, string> = {}) => Number(sample(families, name, labels)?.value ?? 0);
const count = (families: PromFamily[], name: string, labels: Record<string, string> = {}) => value(families, `${name}_count`, labels);

it("needs the bearer token when METRICS_TOKEN is set", async () => {
  expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  expect((await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
});

it("parses, and counters move with requests", async () => {
  const tenant = await makeTenant();
  const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
  const before = await scrape();
  const t = tenant.slug;
  const chatLabels = { route: "chat.completions", status: "200", model: MODEL, tenant: t };

  const res = await fetch(`${server.url}/api/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Hi" }] }),
  });
  expect(res.status).toBe(200);
  const { usage } = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };

  await setKeyLimits(db(), CLI_ACTOR, tenant.id, { keyId: apiKey.id, rpm: 1 });
  const { clearApiKeyCache } = await import("../auth/verify-api-key");
  clearApiKeyCache();
  // the chat request above was before the limit existed, so one more is admitted and the next refused
  expect((await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  expect((await fetch(`${server.url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(429);
  await usageWriter().flush();

  const after = await scrape();
  expect(value(after, "switchyard_http_requests_total", chatLabels) - value(before, "switchyard_http_requests_total", chatLabels)).toBe(1);
  expect(count(after, "switchyard_http_request_duration_seconds", chatLabels)).toBe(count(before, "switchyard_http_request_duration_seconds", chatLabels) + 1);
  expect(count(after, "switchyard_time_to_first_token_seconds", { route: "chat.completions", model: MODEL, tenant: t })).toBe(1);
  expect(value(after, "switchyard_tokens_total", { direction: "in", model: MODEL, tenant: t })).toBe(usage.prompt_tokens);
  expect(value(after, "switchyard_tokens_total", { direction: "out", model: MODEL, tenant: t })).toBe(usage.completion_tokens);
  expect(value(after, "switchyard_http_requests_total", { route: "models", status: "429", tenant: t })).toBe(1);
  expect(value(after, "switchyard_ratelimit_rejections_total", { tenant: t, scope: "key", limit: "rpm" })).toBe(1);

  expect(count(after, "switchyard_inference_queue_wait_seconds", { model: MODEL })).toBeGreaterThanOrEqual(1);
  expect(value(after, "switchyard_inference_queue_depth", { model: MODEL })).toBe(0);
  expect(value(after, "switchyard_model_loaded", { model: MODEL, state: "ready" })).toBe(1);
  expect(value(after, "switchyard_model_memory_bytes", { model: MODEL })).toBeGreaterThan(0);
  expect(value(after, "switchyard_usage_writer_written_rows")).toBeGreaterThan(value(before, "switchyard_usage_writer_written_rows"));
  expect(value(after, "switchyard_usage_writer_dropped_rows")).toBe(0);
  expect(value(after, "switchyard_usage_writer_backlog")).toBe(0);
  expect(sample(after, "switchyard_ratelimit_backend_up", { backend: "memory", fail_mode: "open" })?.value).toBe("1");
  expect(after.find((f) => f.name === "switchyard_process_resident_memory_bytes")?.type).toBe("GAUGE");
});
