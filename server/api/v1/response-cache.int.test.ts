/**
 * The response cache (RESPONSE_CACHE_TTL_SECONDS > 0) over real HTTP with real
 * llama.cpp: identical temperature-0 non-streaming requests are answered from the
 * cache, marked in the header, the usage log and the metrics; anything else is not;
 * tenants never share answers; a key without the model gets no cached answer.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { TINY_MODEL } from "../../../scripts/tiny-gguf/make-tiny-model";

process.env.RESPONSE_CACHE_TTL_SECONDS = "300";

const { db } = await import("../../db/client");
const { localPool } = await import("../../inference/engine");
const { metrics } = await import("../../metrics/metrics");
const { CLI_ACTOR } = await import("../../services/audit/audit");
const { createApiKey } = await import("../../services/api-keys/api-keys");
const { usageWriter } = await import("../../services/usage/usage-writer");
const { makeTenant, uniq } = await import("../../test/fixtures");
const { startV1Server } = await import("../../test/v1-server");
const { registerTinyModel } = await import("../../test/tiny-model");

let server: { url: string; close: () => Promise<void> };
let MODEL: string;

beforeAll(async () => {
  MODEL = await registerTinyModel("cache");
  server = await startV1Server();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

const chat = (key: string, extra: object = {}) =>
  fetch(`${server.url}/api/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Hi" }], temperature: 0, ...extra }),
  });

const hits = async () => (await metrics().cacheLookups.get()).values.find((v) => v.labels.result === "hit")?.value ?? 0;

it("serves identical temperature-0 requests from the cache, per tenant, and logs hits", async () => {
  const tenant = await makeTenant();
  const { key } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
  const hitsBefore = await hits();

  const first = await chat(key);
  expect(first.headers.get("x-switchyard-cache")).toBe("miss");
  const a = (await first.json()) as { choices: { message: { content: string } }[]; usage: { total_tokens: number } };
  const second = await chat(key, { user: "someone" }); // `user` doesn't change the answer
  expect(second.headers.get("x-switchyard-cache")).toBe("hit");
  const b = (await second.json()) as typeof a;
  expect(b.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
  expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
  expect(b.usage).toEqual(a.usage);
  expect(await hits()).toBe(hitsBefore + 1);

  await usageWriter().flush();
  const rows = await db().requestLog.findMany({ where: { tenantId: tenant.id }, orderBy: { createdAt: "asc" } });
  expect(rows.map((r) => r.cached)).toEqual([false, true]);
  expect(rows[1]).toMatchObject({ status: "ok", modelUsed: MODEL, promptTokens: 0, completionTokens: 0 });

  // not cached: another temperature, streaming, or another tenant
  expect((await chat(key, { temperature: 0.5 })).headers.get("x-switchyard-cache")).toBeNull();
  const stream = await chat(key, { stream: true });
  expect(stream.headers.get("x-switchyard-cache")).toBeNull();
  await stream.text();
  const other = await makeTenant();
  const otherKey = (await createApiKey(db(), CLI_ACTOR, other.id, { name: `k-${uniq()}` })).key;
  expect((await chat(otherKey)).headers.get("x-switchyard-cache")).toBe("miss");

  // a key of the same tenant limited to other models gets 403, not the cached answer
  const narrow = (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}`, models: ["something-else"] })).key;
  expect((await chat(narrow)).status).toBe(403);
});
