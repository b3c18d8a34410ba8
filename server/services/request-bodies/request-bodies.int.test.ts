/**
 * Body logging end to end over real HTTP with the openai SDK: a fake upstream on
 * loopback (the world's edge), the real pipeline, the real database. Off by default,
 * selected keys and sampling, the stream stored as the assembled answer (text and
 * tool calls), and — the point — secrets in the conversation never reach the database.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../audit/audit");
const { createApiKey } = await import("../api-keys/api-keys");
const { createBackend } = await import("../backends/backends");
const { createPolicy } = await import("../routing/policies");
const { usageWriter } = await import("../usage/usage-writer");
const { makeTenant, tenantWithMember, addMemberTo, callerFor, uniq } = await import("../../test/fixtures");
const { startV1Server } = await import("../../test/v1-server");
const { startFakeUpstream } = await import("../../test/fake-upstream");
const { flushBodyWrites, updateLogPolicy, DEFAULT_POLICY } = await import("./request-bodies");

let server: { url: string; close: () => Promise<void> };
let up: Awaited<ReturnType<typeof startFakeUpstream>>;
let backendId: string;

const delta = (d: object, finish: string | null = null) => ({ choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }] });

async function setup(policy: Partial<typeof DEFAULT_POLICY> | null) {
  const tenant = await makeTenant();
  const k1 = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k1" });
  const k2 = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k2" });
  const { alias } = await createPolicy(db(), CLI_ACTOR, tenant.id, {
    alias: `bodies-${uniq()}`,
    strategy: "single",
    targets: [{ type: "backend", backendId, model: "up-model" }] as never,
  });
  if (policy) {
    await updateLogPolicy(db(), CLI_ACTOR, {
      ...DEFAULT_POLICY,
      bodiesEnabled: true,
      ...policy,
      bodyKeyIds: !policy.bodyKeyIds ? null : policy.bodyKeyIds.map((k) => (k === "k2" ? k2.apiKey.id : k1.apiKey.id)),
      tenantId: tenant.id,
    });
  }
  const client = (key: string) => new OpenAI({ baseURL: `${server.url}/api/v1`, apiKey: key, maxRetries: 0 });
  return { tenant, alias, k1, k2, c1: client(k1.key), c2: client(k2.key) };
}

async function settle() {
  await usageWriter().flush();
  await flushBodyWrites();
}

beforeAll(async () => {
  server = await startV1Server();
  up = await startFakeUpstream();
  backendId = (await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: up.url, discover: false, models: ["up-model"], public: true })).id;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await up?.close();
});

describe("body logging", () => {
  it("is off by default: no body is stored", async () => {
    const { tenant, alias, c1 } = await setup(null);
    up.behave({ kind: "reply" });
    await c1.chat.completions.create({ model: alias, messages: [{ role: "user", content: "Hi" }] });
    await settle();
    expect(await db().requestLog.count({ where: { tenantId: tenant.id } })).toBe(1);
    expect(await db().requestBody.count({ where: { tenantId: tenant.id } })).toBe(0);
  });

  it("stores a stream as the assembled answer, with the usage row's id", async () => {
    const { tenant, alias, c1 } = await setup({});
    up.behave({
      kind: "chunks",
      chunks: [
        delta({ role: "assistant", content: "Let me " }),
        delta({ content: "check." }),
        delta({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":' } }] }),
        delta({ tool_calls: [{ index: 0, function: { arguments: ' "Paris"}' } }] }),
        delta({}, "tool_calls"),
        { choices: [], usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 } },
      ],
    });
    const stream = await c1.chat.completions.create({
      model: alias,
      stream: true,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Weather in Paris?" },
      ],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
    });
    for await (const _ of stream) void _;
    await settle();
    const log = await db().requestLog.findFirstOrThrow({ where: { tenantId: tenant.id } });
    const row = await db().requestBody.findFirstOrThrow({ where: { tenantId: tenant.id } });
    expect(row.id).toBe(log.id);
    const doc = JSON.parse(row.body);
    expect(doc.endpoint).toBe("chat.completions");
    expect(doc.request.messages.map((m: { role: string }) => m.role)).toEqual(["system", "user"]);
    expect(doc.request.tools[0].name).toBe("get_weather");
    expect(doc.response.choices[0]).toMatchObject({
      text: "Let me check.",
      finishReason: "tool_calls",
      toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city": "Paris"}' }],
    });
    expect(row.truncated).toBe(false);
    expect(row.bytes).toBe(Buffer.byteLength(row.body));
  });

  it("a stream that fails midway is stored with what streamed and the error", async () => {
    const { tenant, c1 } = await setup({});
    // its own upstream: a backend that dies mid-stream is circuit-broken, and the other tests share `up`
    const dying = await startFakeUpstream();
    const b = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: dying.url, discover: false, models: ["up-model"], public: true });
    const { alias } = await createPolicy(db(), CLI_ACTOR, tenant.id, {
      alias: `dying-${uniq()}`,
      strategy: "single",
      targets: [{ type: "backend", backendId: b.id, model: "up-model" }] as never,
    });
    dying.behave({ kind: "chunks", chunks: [delta({ role: "assistant", content: "Half an " }), delta({ content: "answer" }), delta({ content: " never sent" })], dieAfter: 2 });
    const stream = await c1.chat.completions.create({ model: alias, stream: true, messages: [{ role: "user", content: "go" }] });
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow();
    await settle();
    const row = await db().requestBody.findFirstOrThrow({ where: { tenantId: tenant.id } });
    const doc = JSON.parse(row.body);
    expect(doc.response.choices[0].text).toBe("Half an answer");
    expect(doc.error.code).toMatch(/backend/);
    const log = await db().requestLog.findFirstOrThrow({ where: { tenantId: tenant.id } });
    expect(log).toMatchObject({ id: row.id, status: "error" });
    await dying.close();
  });

  it("never lets a key or a bearer token reach the database", async () => {
    const { tenant, alias, k1, c1 } = await setup({});
    const other = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "leaked" });
    const bearer = "tok_" + uniq() + uniq() + uniq();
    // the upstream echoes the secret back, so both sides of the exchange carry it
    up.behave({ kind: "reply", tokens: ["Your key is ", other.key, " and the token Bearer ", bearer] });
    const content = `My key is ${k1.key}, a colleague's is ${other.key}; curl -H "Authorization: Bearer ${bearer}" and mail me at dev@example.com`;
    await c1.chat.completions.create({ model: alias, messages: [{ role: "user", content }] });
    const s = await c1.chat.completions.create({ model: alias, stream: true, messages: [{ role: "user", content }] });
    for await (const _ of s) void _;
    await settle();
    const bodies = await db().requestBody.findMany({ where: { tenantId: tenant.id } });
    expect(bodies).toHaveLength(2);
    // every stored column of every table that holds request data, as text
    const everything = JSON.stringify([
      bodies,
      await db().requestLog.findMany({ where: { tenantId: tenant.id } }),
      await db().auditLog.findMany({ where: { tenantId: tenant.id } }),
    ]);
    for (const secret of [k1.key, other.key, bearer, "dev@example.com", k1.key.slice(6, 20), bearer.slice(4, 16)]) {
      expect(everything).not.toContain(secret);
    }
    for (const b of bodies) {
      const doc = JSON.parse(b.body);
      expect(doc.request.messages[0].content).toMatch(/^My key is \[REDACTED:api_key len=49 hash=[0-9a-f]{8}\], a colleague's is \[REDACTED:api_key len=49 /);
      expect(doc.request.messages[0].content).toContain(`Bearer [REDACTED:bearer len=${bearer.length} `);
      expect(doc.response.choices[0].text).toMatch(/^Your key is \[REDACTED:api_key len=49 hash=[0-9a-f]{8}\] and the token Bearer \[REDACTED:bearer len=\d+ hash=[0-9a-f]{8}\]$/);
      expect(b.redactions).toBeGreaterThanOrEqual(4);
    }
    // the same secret hashes the same in both rows (so it can be followed), under the server key
    const hashes = bodies.map((b) => /colleague's is \[REDACTED:api_key len=49 hash=([0-9a-f]{8})\]/.exec(JSON.parse(b.body).request.messages[0].content)![1]);
    expect(hashes[0]).toBe(hashes[1]);
  });

  it("captures only the chosen keys, and a sample rate of 0 captures nothing", async () => {
    const chosen = await setup({ bodyKeyIds: ["k2"] });
    up.behave({ kind: "reply" });
    await chosen.c1.chat.completions.create({ model: chosen.alias, messages: [{ role: "user", content: "one" }] });
    await chosen.c2.chat.completions.create({ model: chosen.alias, messages: [{ role: "user", content: "two" }] });
    const none = await setup({ bodySampleRate: 0 });
    await none.c1.chat.completions.create({ model: none.alias, messages: [{ role: "user", content: "three" }] });
    await settle();
    const rows = await db().requestBody.findMany({ where: { tenantId: chosen.tenant.id } });
    expect(rows.map((r) => JSON.parse(r.body).request.messages[0].content)).toEqual(["two"]);
    expect(await db().requestBody.count({ where: { tenantId: none.tenant.id } })).toBe(0);
  });

  it("caps the stored size and marks it truncated", async () => {
    const { tenant, alias, c1 } = await setup({});
    up.behave({ kind: "reply" });
    // BODY_LOG_MAX_BYTES defaults to 256 KiB
    await c1.chat.completions.create({ model: alias, messages: [{ role: "user", content: "ü".repeat(200_000) }] });
    await settle();
    const row = await db().requestBody.findFirstOrThrow({ where: { tenantId: tenant.id } });
    expect(row.truncated).toBe(true);
    expect(row.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(JSON.parse(row.body).response.choices[0].text).toBe("Hello from upstream.");
  });

  it("a custom pattern from the tenant's settings is applied; a catastrophic one is refused when saved", async () => {
    const { tenant, alias, c1 } = await setup({ redactPatterns: [{ name: "ticket", pattern: "TCK-\\d{5}", flags: "" }] });
    up.behave({ kind: "reply" });
    await c1.chat.completions.create({ model: alias, messages: [{ role: "user", content: "about TCK-12345" }] });
    await settle();
    const row = await db().requestBody.findFirstOrThrow({ where: { tenantId: tenant.id } });
    expect(JSON.parse(row.body).request.messages[0].content).toMatch(/^about \[REDACTED:ticket len=9 hash=[0-9a-f]{8}\]$/);
    await expect(
      updateLogPolicy(db(), CLI_ACTOR, { ...DEFAULT_POLICY, tenantId: tenant.id, redactPatterns: [{ name: "bad", pattern: "(a+)+$" }] }),
    ).rejects.toThrow(/nest quantifiers/);
  });
});

describe("reading bodies", () => {
  it("members read bodies; viewers only when the tenant allows it; other tenants never", async () => {
    const { tenant, caller: admin } = await tenantWithMember("admin");
    const viewer = await addMemberTo(tenant.id, "viewer");
    const member = await addMemberTo(tenant.id, "member");
    const key = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k" });
    const { alias } = await createPolicy(db(), CLI_ACTOR, tenant.id, {
      alias: `bodies-${uniq()}`,
      strategy: "single",
      targets: [{ type: "backend", backendId, model: "up-model" }] as never,
    });
    await admin.logging.update({ ...DEFAULT_POLICY, tenantId: tenant.id, bodiesEnabled: true });
    up.behave({ kind: "reply" });
    await new OpenAI({ baseURL: `${server.url}/api/v1`, apiKey: key.key, maxRetries: 0 }).chat.completions.create({
      model: alias,
      messages: [{ role: "user", content: "what did I say" }],
    });
    await settle();
    const id = (await db().requestLog.findFirstOrThrow({ where: { tenantId: tenant.id } })).id;

    const read = (userId: string) => callerFor(userId).usage.body({ tenantId: tenant.id, id });
    expect((await read(member.user.id))?.document.request).toMatchObject({ messages: [{ role: "user", content: "what did I say" }] });
    await expect(read(viewer.user.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    // the usage row itself stays readable to the viewer
    await expect(callerFor(viewer.user.id).usage.get({ tenantId: tenant.id, id })).resolves.toMatchObject({ id });

    await admin.logging.update({ ...DEFAULT_POLICY, tenantId: tenant.id, bodiesEnabled: true, viewersSeeBodies: true });
    expect((await read(viewer.user.id))?.document.response?.choices[0]?.text).toBe("Hello from upstream.");

    // another tenant's admin asking for this id through their own tenant sees nothing
    const other = await tenantWithMember("admin");
    await expect(other.caller.usage.body({ tenantId: other.tenant.id, id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(other.caller.usage.body({ tenantId: tenant.id, id })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
