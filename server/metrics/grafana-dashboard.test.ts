/**
 * deploy/grafana/switchyard.json may only chart what the server exports: every
 * `switchyard_*` name in its queries (and variable queries) must be a metric in the
 * registry (a histogram's _bucket/_sum/_count series included) — read from the
 * registry itself, not from a list kept by hand — and it covers what an operator
 * needs on one screen.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { metrics } from "./metrics";

const FILE = path.resolve(import.meta.dirname, "../../deploy/grafana/switchyard.json");

interface Panel {
  id: number;
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(FILE, "utf8")) as {
  uid: string;
  panels: Panel[];
  templating: { list: { query?: string | { query: string } }[] };
};

const queries = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => (typeof v.query === "string" ? v.query : (v.query?.query ?? ""))),
];
const referenced = new Set(queries.flatMap((q) => q.match(/\bswitchyard_[a-z0-9_]+/g) ?? []));

async function exported(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await metrics().registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
  }
  return names;
}

describe("the Grafana dashboard", () => {
  it("references only metric names the server exports", async () => {
    const names = await exported();
    expect(referenced.size).toBeGreaterThan(10);
    expect([...referenced].filter((n) => !names.has(n))).toEqual([]);
  });

  it("charts requests, errors, latency, TTFT, tokens, spend, queue depth, limiter rejections and cache hits", () => {
    for (const name of [
      "switchyard_http_requests_total",
      "switchyard_http_request_duration_seconds_bucket",
      "switchyard_time_to_first_token_seconds_bucket",
      "switchyard_tokens_total",
      "switchyard_spend_total",
      "switchyard_unpriced_requests_total",
      "switchyard_inference_queue_depth",
      "switchyard_ratelimit_rejections_total",
      "switchyard_response_cache_lookups_total",
    ]) {
      expect(referenced, name).toContain(name);
    }
    expect(queries.some((q) => /status=~"5\.\."/.test(q))).toBe(true);
  });

  it("is loadable: a uid, unique panel ids, a query per panel, and the datasource as a variable", () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
    expect(readFileSync(FILE, "utf8")).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|switchyard-gateway)/);
  });
});
