/**
 * The routing config cache keeps the database off the request path, and a change made
 * through the services is visible on the next request in the process that made it, and
 * within a second in another process (a second /api/v1 server in its own process, on the
 * same database; with Redis for its limits when TEST_DB=postgresql). No timing
 * assertions: the other process is polled with a deadline, as the key-revocation test does.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Db } from "../../db/client";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../audit/audit");
const { createApiKey } = await import("../api-keys/api-keys");
const { createBackend, setBackendAccess, updateBackend } = await import("../backends/backends");
const { setModelAccess } = await import("../models/models");
const { createPolicy, updatePolicy } = await import("./policies");
const { planRoute } = await import("./plan");
const { configChanged } = await import("./config-cache");
const { verifyBearer } = await import("../../auth/bearer");
const { makeTenant, uniq } = await import("../../test/fixtures");
const { startFakeUpstream } = await import("../../test/fake-upstream");
const { startV1Server, startV1ServerChild, stopV1ServerChild } = await import("../../test/v1-server");
const { startRedis } = await import("../../test/redis");

type Fake = Awaited<ReturnType<typeof startFakeUpstream>>;
type Server = { url: string };

let here: { url: string; close: () => Promise<void> };
let there: Awaited<ReturnType<typeof startV1ServerChild>>;
let redis: Awaited<ReturnType<typeof startRedis>> | null = null;
let upA: Fake;
let upB: Fake;

beforeAll(async () => {
  upA = await startFakeUpstream();
  upA.behave({ kind: "reply", tokens: ["from", " A"] });
  upB = await startFakeUpstream();
  upB.behave({ kind: "reply", tokens: ["from", " B"] });
  here = await startV1Server();
  // replicas on PostgreSQL share their limits through Redis, as deployed
  if (process.env.TEST_DB === "postgresql") redis = await startRedis();
  there = await startV1ServerChild(redis ? { REDIS_URL: redis.url } : {});
}, 60_000);

afterAll(async () => {
  await here?.close();
  if (there) await stopV1ServerChild(there.child);
  await Promise.all([upA?.close(), upB?.close(), redis?.stop()]);
});

async function setup(opts: { public?: boolean } = {}) {
  const tenant = await makeTenant();
  const a = await createBackend(db(), CLI_ACTOR, { name: `a-${uniq()}`, baseUrl: upA.url, discover: false, models: ["up-model"], public: opts.public ?? true });
  const b = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: upB.url, discover: false, models: ["up-model"], public: true });
  if (opts.public === false) await setBackendAccess(db(), CLI_ACTOR, { id: a.id, public: false, tenantIds: [tenant.id] });
  const policy = await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: `al-${uniq()}`, strategy: "single", targets: [{ type: "backend", backendId: a.id, model: "up-model" }] });
  const { key } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "cache" });
  return { tenant, a, b, policy, key };
}

async function ask(s: Server, key: string, model: string): Promise<{ status: number; text: string | null; code: string | null }> {
  const res = await fetch(`${s.url}/api/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }] }),
  });
  const body = (await res.json()) as { choices?: { message: { content: string } }[]; error?: { code: string } };
  return { status: res.status, text: body.choices?.[0]?.message.content ?? null, code: body.error?.code ?? null };
}

/** The other process shows `expected` within a second of the change. */
async function eventually(key: string, model: string, expected: Partial<Awaited<ReturnType<typeof ask>>>) {
  const changedAt = Date.now();
  await vi.waitFor(async () => expect(await ask(there, key, model)).toMatchObject(expected), { timeout: 1000, interval: 20 });
  expect(Date.now() - changedAt).toBeLessThan(1000);
}

describe("the routing config cache", () => {
  it("an edited alias routes to its new target: at once here, within a second in another process", async () => {
    const { tenant, b, policy, key } = await setup();
    // both processes have the alias cached now
    expect(await ask(here, key, policy.alias)).toMatchObject({ status: 200, text: "from A" });
    expect(await ask(there, key, policy.alias)).toMatchObject({ status: 200, text: "from A" });
    await updatePolicy(db(), CLI_ACTOR, tenant.id, { policyId: policy.id, strategy: "single", targets: [{ type: "backend", backendId: b.id, model: "up-model" }], strongShare: 0.2, enabled: true });
    expect(await ask(here, key, policy.alias)).toMatchObject({ status: 200, text: "from B" });
    await eventually(key, policy.alias, { status: 200, text: "from B" });
  });

  it("a disabled backend is no longer routed to", async () => {
    const { a, policy, key } = await setup();
    expect(await ask(here, key, policy.alias)).toMatchObject({ status: 200 });
    expect(await ask(there, key, policy.alias)).toMatchObject({ status: 200 });
    await updateBackend(db(), CLI_ACTOR, { id: a.id, enabled: false });
    expect(await ask(here, key, policy.alias)).toMatchObject({ status: 503, code: "no_healthy_target" });
    await eventually(key, policy.alias, { status: 503, code: "no_healthy_target" });
  });

  it("a revoked backend grant takes the target away", async () => {
    const { a, policy, key } = await setup({ public: false });
    expect(await ask(here, key, policy.alias)).toMatchObject({ status: 200, text: "from A" });
    expect(await ask(there, key, policy.alias)).toMatchObject({ status: 200, text: "from A" });
    await setBackendAccess(db(), CLI_ACTOR, { id: a.id, public: false, tenantIds: [] });
    expect(await ask(here, key, policy.alias)).toMatchObject({ status: 503, code: "no_healthy_target" });
    await eventually(key, policy.alias, { status: 503, code: "no_healthy_target" });
  });

  it("a model's access taken from a tenant: 404 for it at once here, within a second elsewhere", async () => {
    const { tenant, key } = await setup();
    const name = `m-${uniq()}`;
    // a registered local model (never loaded: GET /models/{name} only resolves it)
    await db().model.create({ data: { id: `mdl_${uniq()}`, name, source: "/models/never-loaded.gguf", public: false } });
    await configChanged();
    await setModelAccess(db(), CLI_ACTOR, { name, public: false, tenantIds: [tenant.id] });
    const get = async (s: Server) => (await fetch(`${s.url}/api/v1/models/${name}`, { headers: { authorization: `Bearer ${key}` } })).status;
    expect(await get(here)).toBe(200);
    expect(await get(there)).toBe(200);
    await setModelAccess(db(), CLI_ACTOR, { name, public: false, tenantIds: [] });
    expect(await get(here)).toBe(404);
    const changedAt = Date.now();
    await vi.waitFor(async () => expect(await get(there)).toBe(404), { timeout: 1000, interval: 20 });
    expect(Date.now() - changedAt).toBeLessThan(1000);
  });

  it("a cached plan is the tenant's own: the same alias name in another tenant routes elsewhere", async () => {
    const one = await setup();
    const other = await makeTenant();
    await createPolicy(db(), CLI_ACTOR, other.id, { alias: one.policy.alias, strategy: "single", targets: [{ type: "backend", backendId: one.b.id, model: "up-model" }] });
    const { key: otherKey } = await createApiKey(db(), CLI_ACTOR, other.id, { name: "other" });
    expect(await ask(here, one.key, one.policy.alias)).toMatchObject({ text: "from A" });
    expect(await ask(here, otherKey, one.policy.alias)).toMatchObject({ text: "from B" });
    expect(await ask(here, one.key, one.policy.alias)).toMatchObject({ text: "from A" });
  });

  it("plans from memory: a warm plan reads nothing from the database", async () => {
    const { policy, key } = await setup();
    const principal = (await verifyBearer(key))!;
    const read = await planRoute(db(), principal, policy.alias, { messages: [{ role: "user", content: "Hi" }] });
    const ops: string[] = [];
    const counting = db().$extends({
      query: {
        $allOperations({ model, operation, args, query }) {
          ops.push(`${model}.${operation}`);
          return query(args);
        },
      },
    }) as unknown as Db;
    const again = await planRoute(counting, principal, policy.alias, { messages: [{ role: "user", content: "Hi" }] });
    expect(again.candidates.map((c) => c.key)).toEqual(read.candidates.map((c) => c.key));
    expect(ops).toEqual([]);
  });
});
