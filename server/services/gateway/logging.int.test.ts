/**
 * What a /v1 request logs (server/services/gateway/pipeline.ts): one line as it ends, through
 * a child logger bound to its request id and tenant — 5xx at error, 4xx at info, success at
 * debug — with the request id the client got, and never the caller's key. Real HTTP, the real
 * route handlers; the lines are read from this process's stdout/stderr, where pino writes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { logger } from "../../log/logger";
import { CLI_ACTOR } from "../audit/audit";
import { createApiKey } from "../api-keys/api-keys";
import { createBackend } from "../backends/backends";
import { createPolicy } from "../routing/policies";
import { makeTenant, uniq } from "../../test/fixtures";
import { startFakeUpstream } from "../../test/fake-upstream";
import { startV1Server } from "../../test/v1-server";

let server: { url: string; close: () => Promise<void> };
let up: Awaited<ReturnType<typeof startFakeUpstream>>;
let tenant: { id: string; slug: string };
let key: string;
let alias: string;
let lines: string[] = [];
const restore: (() => void)[] = [];

beforeAll(async () => {
  server = await startV1Server();
  up = await startFakeUpstream({ models: ["up-model"] });
  tenant = await makeTenant();
  key = (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `log-${uniq()}` })).key;
  const b = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: up.url, discover: false, models: ["up-model"], public: true });
  alias = (
    await createPolicy(db(), CLI_ACTOR, tenant.id, {
      alias: `log-${uniq()}`,
      strategy: "single",
      targets: [{ type: "backend", backendId: b.id, model: "up-model" }] as never,
    })
  ).alias;
});

afterAll(async () => {
  await Promise.all([server?.close(), up?.close()]);
});

beforeEach(() => {
  lines = [];
  for (const l of [logger(), logger("gateway")]) {
    const level = l.level;
    l.level = "debug";
    restore.push(() => (l.level = level));
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return (write as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
});

afterEach(() => {
  while (restore.length) restore.pop()!();
});

async function chat(bearer: string, model: string) {
  const res = await fetch(`${server.url}/api/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.text();
  return { status: res.status, requestId: res.headers.get("x-request-id")! };
}

/** The request's own line (the one that names its id). */
function lineOf(requestId: string): string {
  const mine = lines.filter((l) => l.includes(requestId) && l.includes("[gateway]") && /"endpoint"/.test(l));
  expect(mine).toHaveLength(1);
  return mine[0]!;
}

describe.sequential("/v1 request log lines", () => {
  it("a success: debug, with its request id and tenant", async () => {
    const r = await chat(key, alias);
    expect(r.status).toBe(200);
    const line = lineOf(r.requestId);
    expect(line).toMatch(/DEBUG: \[gateway\] request /);
    expect(line).toContain(`"tenant":"${tenant.slug}"`);
    expect(line).toContain('"status":200');
  });

  it("a 4xx: info, with the error code; an unauthenticated one has no tenant and never the key", async () => {
    const missing = await chat(key, "no-such-model");
    expect(missing.status).toBe(404);
    const line = lineOf(missing.requestId);
    expect(line).toMatch(/INFO: \[gateway\] request failed /);
    expect(line).toContain(`"tenant":"${tenant.slug}"`);
    expect(line).toContain('"code":"model_not_found"');

    const bad = `${key.slice(0, -4)}zzzz`;
    const denied = await chat(bad, alias);
    expect(denied.status).toBe(401);
    const l401 = lineOf(denied.requestId);
    expect(l401).toMatch(/INFO: .*"status":401/);
    expect(l401).not.toContain('"tenant"');
    expect(lines.join("")).not.toContain(bad);
  });

  it("a 5xx: error, with the error's message (the client's body has no stack)", async () => {
    up.behave({ kind: "status", status: 503, message: "upstream overloaded" });
    try {
      const r = await chat(key, alias);
      expect(r.status).toBeGreaterThanOrEqual(500);
      const line = lineOf(r.requestId);
      expect(line).toMatch(/ERROR: \[gateway\] request failed /);
      expect(line).toContain(`"tenant":"${tenant.slug}"`);
      expect(line).toContain('"reason":"backend ');
      expect(line).toContain("upstream overloaded");
    } finally {
      up.behave({ kind: "reply" });
    }
  });
});

describe.sequential("/v1 request log lines: a caller that leaves", () => {
  it("is info (request cancelled), not an error: nothing failed on our side", async () => {
    // its own upstream and alias: the 5xx test above may have opened the first backend's circuit
    const hung = await startFakeUpstream({ models: ["up-model"] });
    try {
      hung.behave({ kind: "hang" });
      const b = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: hung.url, discover: false, models: ["up-model"], public: true });
      const leaving = (
        await createPolicy(db(), CLI_ACTOR, tenant.id, {
          alias: `leave-${uniq()}`,
          strategy: "single",
          targets: [{ type: "backend", backendId: b.id, model: "up-model" }] as never,
        })
      ).alias;
      const ac = new AbortController();
      const res = fetch(`${server.url}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: leaving, stream: true, messages: [{ role: "user", content: "hi" }] }),
        signal: ac.signal,
      });
      // the request is in flight once the upstream has it
      await expect.poll(() => hung.requests.length, { timeout: 10_000 }).toBeGreaterThan(0);
      ac.abort();
      await res.catch(() => undefined);
      const mine = () => lines.filter((l) => l.includes("[gateway]") && l.includes(b.name));
      await expect.poll(() => mine().length, { timeout: 10_000 }).toBe(1);
      expect(mine()[0]).toMatch(/INFO: \[gateway\] request cancelled /);
      expect(mine()[0]).toContain(`"tenant":"${tenant.slug}"`);
      expect(mine()[0]).not.toMatch(/ERROR|WARN/);
    } finally {
      await hung.close();
    }
  });
});
