/**
 * OpenTelemetry through /api/v1, received by an OTLP/HTTP receiver on loopback (a small
 * server decoding the exporter's JSON: the edge of the world), with the real SDK and
 * exporter, the real pipeline, fake upstreams and real llama.cpp on the tiny model.
 * GenAI attributes, parentage (caller → request → route / attempts → queue / generation),
 * a fallback attempt, the caller's traceparent honoured and forwarded upstream, and
 * content only when body logging stored it (redacted).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyModel } from "../../scripts/tiny-gguf/make-tiny-model";

const { db } = await import("../db/client");
const { CLI_ACTOR } = await import("../services/audit/audit");
const { createApiKey } = await import("../services/api-keys/api-keys");
const { createBackend } = await import("../services/backends/backends");
const { addModel } = await import("../services/models/models");
const { createPolicy } = await import("../services/routing/policies");
const { usageWriter } = await import("../services/usage/usage-writer");
const { DEFAULT_POLICY, flushBodyWrites, updateLogPolicy } = await import("../services/request-bodies/request-bodies");
const { makeTenant, uniq } = await import("../test/fixtures");
const { startV1Server } = await import("../test/v1-server");
const { startFakeUpstream } = await import("../test/fake-upstream");
const tracing = await import("./tracing");

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: OtlpValue }[];
  status?: { code?: number };
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

const plain = (v: OtlpValue): unknown =>
  v.arrayValue ? v.arrayValue.values.map(plain) : (v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue)));
const attrs = (s: OtlpSpan) => Object.fromEntries(s.attributes.map((a) => [a.key, plain(a.value)]));

const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 };

/** Collects every span POSTed to /v1/traces. */
async function startReceiver() {
  const spans: OtlpSpan[] = [];
  const resources: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let raw = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
      if (req.url !== "/v1/traces" || !String(req.headers["content-type"]).includes("json")) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(raw.toString("utf8")) as {
        resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        resources.push(Object.fromEntries(rs.resource.attributes.map((a) => [a.key, plain(a.value)])));
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, spans, resources, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let server: { url: string; close: () => Promise<void> };
let bad: Awaited<ReturnType<typeof startFakeUpstream>>;
let good: Awaited<ReturnType<typeof startFakeUpstream>>;
let tenant: { id: string; slug: string };
let key: string;
let alias: string;
let goodBackend: { id: string; name: string };
const TINY = `tiny-otel-${uniq()}`;

const randomHex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

async function settle() {
  await usageWriter().flush();
  await flushBodyWrites();
  // the request span of a body-logged request ends once its body is stored
  await new Promise((r) => setTimeout(r, 50));
  await tracing.flushTracing();
}

const traceOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

beforeAll(async () => {
  receiver = await startReceiver();
  // before init: everything is a no-op
  expect(tracing.tracingEnabled()).toBe(false);
  expect(tracing.startRequestSpan(new Request("http://x/"), "chat.completions")).toBeNull();
  expect(tracing.traceHeaders()).toEqual({});
  expect(tracing.tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url + "/", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined, OTEL_SDK_DISABLED: false })).toBe(
    `${receiver.url}/v1/traces`,
  );
  tracing.initTracing({ url: `${receiver.url}/v1/traces`, serviceName: "switchyard-test", scheduledDelayMillis: 20 });

  const dir = mkdtempSync(path.join(tmpdir(), "switchyard-otel-"));
  writeTinyModel(path.join(dir, "tiny.gguf"));
  await addModel(db(), CLI_ACTOR, { name: TINY, source: path.join(dir, "tiny.gguf"), kind: "chat", contextSize: 512, parallel: 1, threads: 1 });

  server = await startV1Server();
  bad = await startFakeUpstream();
  good = await startFakeUpstream();
  bad.behave({ kind: "status", status: 503 });
  const b1 = await createBackend(db(), CLI_ACTOR, { name: `bad-${uniq()}`, baseUrl: bad.url, discover: false, models: ["up-model"], public: true });
  goodBackend = await createBackend(db(), CLI_ACTOR, { name: `good-${uniq()}`, baseUrl: good.url, discover: false, models: ["up-model"], public: true });
  tenant = await makeTenant();
  key = (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k" })).key;
  alias = (
    await createPolicy(db(), CLI_ACTOR, tenant.id, {
      alias: `otel-${uniq()}`,
      strategy: "fallback",
      targets: [
        { type: "backend", backendId: b1.id, model: "up-model" },
        { type: "backend", backendId: goodBackend.id, model: "up-model" },
      ] as never,
    })
  ).alias;
}, 120_000);

afterAll(async () => {
  await tracing.shutdownTracing();
  await server?.close();
  await bad?.close();
  await good?.close();
  await receiver?.close();
  const { localPool } = await import("../inference/engine");
  await localPool().unload(TINY);
});

describe("traces", () => {
  it("a streamed request with a fallback: GenAI attributes, parentage, the caller's traceparent honoured and forwarded", async () => {
    const traceId = randomHex(16);
    const callerSpan = randomHex(8);
    const client = new OpenAI({
      baseURL: `${server.url}/api/v1`,
      apiKey: key,
      maxRetries: 0,
      defaultHeaders: { traceparent: `00-${traceId}-${callerSpan}-01` },
    });
    const stream = await client.chat.completions.create({
      model: alias,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 50,
      temperature: 0.2,
      messages: [{ role: "user", content: `secret ${key}` }],
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("Hello from upstream.");
    await settle();

    const spans = traceOf(traceId);
    const root = spans.find((s) => s.kind === KIND.SERVER)!;
    expect(root, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
    expect(root.parentSpanId).toBe(callerSpan);
    expect(root.name).toBe(`chat ${alias}`);
    expect(attrs(root)).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": alias,
      "gen_ai.response.model": `${goodBackend.name}/up-model`,
      "gen_ai.usage.input_tokens": 7,
      "gen_ai.usage.output_tokens": 4,
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.request.max_tokens": 50,
      "gen_ai.request.temperature": 0.2,
      "gen_ai.request.stream": true,
      "server.address": "127.0.0.1",
      "server.port": Number(new URL(good.url).port),
      "http.response.status_code": 200,
      "switchyard.tenant": tenant.slug,
    });
    // no body logging for this tenant: no content on any span
    for (const s of spans) {
      expect(attrs(s)["gen_ai.input.messages"]).toBeUndefined();
      expect(JSON.stringify(s)).not.toContain(key);
    }

    const route = spans.find((s) => s.name === `route ${alias}`)!;
    expect(route.parentSpanId).toBe(root.spanId);
    expect(attrs(route)["switchyard.route.candidates"]).toHaveLength(2);

    const attempts = spans.filter((s) => s.kind === KIND.CLIENT).sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    expect(attempts.map((s) => s.name)).toEqual(["chat up-model", "chat up-model"]);
    expect(attempts.every((s) => s.parentSpanId === root.spanId)).toBe(true);
    expect(attrs(attempts[0]!)).toMatchObject({ "switchyard.attempt": 1, "error.type": "backend_error", "server.port": Number(new URL(bad.url).port) });
    expect(attempts[0]!.status?.code).toBe(2);
    expect(attrs(attempts[1]!)).toMatchObject({ "switchyard.attempt": 2, "server.port": Number(new URL(good.url).port) });
    expect(attempts[1]!.status?.code ?? 0).not.toBe(2);
    // the root ends when the stream has ended, after the serving attempt
    expect(BigInt(root.endTimeUnixNano) >= BigInt(attempts[1]!.endTimeUnixNano)).toBe(true);

    // each upstream got the traceparent of its own attempt span, in the caller's trace
    expect(bad.requests.at(-1)!.traceparent).toBe(`00-${traceId}-${attempts[0]!.spanId}-01`);
    expect(good.requests.at(-1)!.traceparent).toBe(`00-${traceId}-${attempts[1]!.spanId}-01`);
    expect(receiver.resources.some((r) => r["service.name"] === "switchyard-test")).toBe(true);
  });

  it("a local model: queue wait and local generation under the attempt; a new trace without a traceparent", async () => {
    const before = new Set(receiver.spans.map((s) => s.traceId));
    const client = new OpenAI({ baseURL: `${server.url}/api/v1`, apiKey: key, maxRetries: 0 });
    await client.chat.completions.create({ model: TINY, messages: [{ role: "user", content: "Hi" }] });
    await settle();
    const root = receiver.spans.find((s) => !before.has(s.traceId) && s.kind === KIND.SERVER && s.name === `chat ${TINY}`)!;
    expect(root).toBeDefined();
    expect(root.parentSpanId || undefined).toBeUndefined();
    const spans = traceOf(root.traceId);
    const attempt = spans.find((s) => s.kind === KIND.CLIENT)!;
    expect(attrs(attempt)).toMatchObject({ "gen_ai.provider.name": "llama.cpp", "gen_ai.request.model": TINY });
    const wait = spans.find((s) => s.name === "queue wait")!;
    const gen = spans.find((s) => s.name === "local generation")!;
    expect(wait.parentSpanId).toBe(attempt.spanId);
    expect(gen.parentSpanId).toBe(attempt.spanId);
    expect(attrs(root)["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    expect(attrs(root)["server.address"]).toBeUndefined();
  });

  it("content goes on the span only when body logging stored it, and then redacted", async () => {
    const t = await makeTenant();
    const k = (await createApiKey(db(), CLI_ACTOR, t.id, { name: "k" })).key;
    const a = (
      await createPolicy(db(), CLI_ACTOR, t.id, {
        alias: `otel-${uniq()}`,
        strategy: "single",
        targets: [{ type: "backend", backendId: goodBackend.id, model: "up-model" }] as never,
      })
    ).alias;
    await updateLogPolicy(db(), CLI_ACTOR, { ...DEFAULT_POLICY, tenantId: t.id, bodiesEnabled: true });
    const traceId = randomHex(16);
    const client = new OpenAI({ baseURL: `${server.url}/api/v1`, apiKey: k, maxRetries: 0, defaultHeaders: { traceparent: `00-${traceId}-${randomHex(8)}-01` } });
    await client.chat.completions.create({ model: a, messages: [{ role: "user", content: `my key ${k}` }] });
    await settle();
    const root = traceOf(traceId).find((s) => s.kind === KIND.SERVER)!;
    const input = String(attrs(root)["gen_ai.input.messages"]);
    expect(input).toMatch(/my key \[REDACTED:api_key len=49 hash=[0-9a-f]{8}\]/);
    expect(input).not.toContain(k);
    expect(String(attrs(root)["gen_ai.output.messages"])).toContain("Hello from upstream.");
  });

  it("an unauthenticated request is a span too, with its error", async () => {
    const traceId = randomHex(16);
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-sy-nope", traceparent: `00-${traceId}-${randomHex(8)}-01` },
      body: "{}",
    });
    expect(res.status).toBe(401);
    await settle();
    const root = traceOf(traceId)[0]!;
    expect(attrs(root)).toMatchObject({ "http.response.status_code": 401, "error.type": "invalid_api_key" });
  });
});
