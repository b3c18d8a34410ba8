/**
 * Security regression suite for /api/v1 keys: signed requests (HMAC over the exact
 * request, ±window, one use each — also across replicas sharing Redis) and IP
 * allowlists (per key and per tenant, TRUST_PROXY-aware, never a forged
 * X-Forwarded-For). Real HTTP, the app's real route handlers under a base path
 * ("/llm", stripped as Next does), the official openai SDK with the documented helper.
 * The exact window boundary is in server/auth/request-signing.test.ts (no clocks here).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.BASE_PATH = "/llm";
});

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../../services/audit/audit");
const { createApiKey, rotateApiKey } = await import("../../services/api-keys/api-keys");
const sec = await import("../../services/api-keys/security");
const { createBackend } = await import("../../services/backends/backends");
const { createPolicy } = await import("../../services/routing/policies");
const { usageWriter } = await import("../../services/usage/usage-writer");
const { metrics } = await import("../../metrics/metrics");
const { makeTenant, uniq } = await import("../../test/fixtures");
const { startV1Server, startV1ServerChild, stopV1ServerChild } = await import("../../test/v1-server");
const { startFakeUpstream } = await import("../../test/fake-upstream");
const { startRedis } = await import("../../test/redis");
const { signatureHeader } = await import("../../auth/request-signing");
const { signedFetch } = await import("../../../docs/examples/signed-fetch");

type Server = { url: string; close: () => Promise<void> };
let server: Server;
let server6: Server;
let up: Awaited<ReturnType<typeof startFakeUpstream>>;
let tenant: { id: string; slug: string };
let alias: string;

const BASE = "/llm";
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  server = await startV1Server({ basePath: BASE });
  server6 = await startV1Server({ basePath: BASE, host: "::1" });
  up = await startFakeUpstream({ models: ["up-model"] });
  tenant = await makeTenant();
  const b = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: up.url, discover: false, models: ["up-model"], public: true });
  alias = (
    await createPolicy(db(), CLI_ACTOR, tenant.id, {
      alias: `sec-${uniq()}`,
      strategy: "single",
      targets: [{ type: "backend", backendId: b.id, model: "up-model" }] as never,
    })
  ).alias;
});

afterAll(async () => {
  await Promise.all([server?.close(), server6?.close(), up?.close()]);
  delete process.env.BASE_PATH;
});

async function signedKey(tenantId = tenant.id) {
  const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenantId, { name: `k-${uniq()}` });
  const { secret } = await sec.enableSigning(db(), CLI_ACTOR, tenantId, { keyId: apiKey.id });
  return { key, keyId: apiKey.id, secret };
}

const chatBody = (content = "hello") => JSON.stringify({ model: alias, messages: [{ role: "user", content }] });

interface Call {
  method?: string;
  /** the path sent, with the base path */
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  base?: string;
}

async function call(key: string, c: Call & { sign?: { secret: string; t?: number; method?: string; path?: string; body?: string } }) {
  const method = c.method ?? "POST";
  const p = c.path ?? `${BASE}/api/v1/chat/completions`;
  const body = method === "GET" ? undefined : (c.body ?? chatBody());
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, "content-type": "application/json", ...c.headers };
  if (c.sign) {
    const s = c.sign;
    headers["x-switchyard-signature"] = signatureHeader(s.secret, s.t ?? now(), s.method ?? method, s.path ?? p, s.body ?? body ?? "");
  }
  const res = await fetch(`${c.base ?? server.url}${p}`, { method, headers, body });
  const text = await res.text();
  let json: { error?: { code?: string } } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    /* SSE */
  }
  return { status: res.status, code: json.error?.code ?? null, text, requestId: res.headers.get("x-request-id") };
}

async function logOf(requestId: string | null) {
  await usageWriter().flush();
  return db().requestLog.findFirstOrThrow({ where: { tenantId: tenant.id, requestId: requestId! } });
}

describe("signed requests", () => {
  it("a valid signature over method, base path, and body is accepted; none is signature_required", async () => {
    const { key, secret } = await signedKey();
    expect((await call(key, { sign: { secret } })).status).toBe(200);
    const models = await call(key, { method: "GET", path: `${BASE}/api/v1/models`, sign: { secret } });
    expect(models.status).toBe(200);
    const none = await call(key, {});
    expect([none.status, none.code]).toEqual([401, "signature_required"]);
  });

  it("wrong secret, one changed body byte, changed path (also without the base path), changed method: signature_invalid", async () => {
    const { key, secret } = await signedKey();
    const other = (await signedKey()).secret;
    const body = chatBody("abc");
    const cases: Parameters<typeof call>[1][] = [
      { body, sign: { secret: other } },
      { body, sign: { secret, body: body.replace("abc", "abd") } },
      { body, sign: { secret, path: "/api/v1/chat/completions" } },
      { body, sign: { secret, path: `${BASE}/api/v1/completions` } },
      { method: "GET", path: `${BASE}/api/v1/models`, sign: { secret, method: "POST" } },
      { body, headers: { "x-switchyard-signature": "t=abc,v1=00" } },
    ];
    for (const c of cases) {
      const r = await call(key, c);
      expect([r.status, r.code], JSON.stringify(c.sign ?? c.headers)).toEqual([401, "signature_invalid"]);
    }
    // the same request signed properly still works: nothing above was half-accepted
    expect((await call(key, { body, sign: { secret } })).status).toBe(200);
  });

  it("clock skew: inside the window accepted, past it (either way) signature_expired", async () => {
    const { key, secret } = await signedKey();
    expect((await call(key, { sign: { secret, t: now() - 290 } })).status).toBe(200);
    expect((await call(key, { body: chatBody("f"), sign: { secret, t: now() + 290 } })).status).toBe(200);
    for (const t of [now() - 302, now() + 302, 0]) {
      const r = await call(key, { sign: { secret, t } });
      expect([r.status, r.code]).toEqual([401, "signature_expired"]);
    }
  });

  it("a replayed request on the same replica is signature_replayed", async () => {
    const { key, secret } = await signedKey();
    const t = now();
    const body = chatBody("once");
    expect((await call(key, { body, sign: { secret, t } })).status).toBe(200);
    const again = await call(key, { body, sign: { secret, t } });
    expect([again.status, again.code]).toEqual([401, "signature_replayed"]);
  });

  it("denials are in the usage log with the reason, and in the metrics", async () => {
    const { key, secret } = await signedKey();
    const before = (await metrics().authDenials.get()).values.find((v) => v.labels.reason === "signature_invalid")?.value ?? 0;
    const r = await call(key, { sign: { secret: "sy-sig-wrong" } });
    const row = await logOf(r.requestId);
    expect(row).toMatchObject({ status: "error", httpStatus: 401, errorCode: "signature_invalid" });
    const after = (await metrics().authDenials.get()).values.find((v) => v.labels.reason === "signature_invalid")?.value ?? 0;
    expect(after).toBe(before + 1);
    expect(JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(secret);
  });

  it("secret rotation: the previous secret signs during the grace, not after; grace 0 ends it at once", async () => {
    const { key, keyId, secret: first } = await signedKey();
    const { secret: second } = await sec.rotateSigningSecret(db(), CLI_ACTOR, tenant.id, { keyId, graceSeconds: 600 });
    expect((await call(key, { body: chatBody("a"), sign: { secret: first } })).status).toBe(200);
    expect((await call(key, { body: chatBody("b"), sign: { secret: second } })).status).toBe(200);
    // the grace ends (as if time passed): the first secret stops signing
    await db().apiKey.updateMany({ where: { id: keyId, tenantId: tenant.id }, data: { signingPrevUntil: new Date(Date.now() - 1000) } });
    await new Promise((r) => setTimeout(r, 800)); // POSITIVE_TTL_MS: other replicas see changes within it
    expect((await call(key, { body: chatBody("c"), sign: { secret: first } })).code).toBe("signature_invalid");
    const { secret: third } = await sec.rotateSigningSecret(db(), CLI_ACTOR, tenant.id, { keyId, graceSeconds: 0 });
    expect((await call(key, { body: chatBody("d"), sign: { secret: second } })).code).toBe("signature_invalid");
    expect((await call(key, { body: chatBody("e"), sign: { secret: third } })).status).toBe(200);
    // a rotated API key keeps requiring signatures, with the same secret
    const rotated = await rotateApiKey(db(), CLI_ACTOR, tenant.id, { keyId, graceSeconds: 0 });
    expect((await call(rotated.key, { body: chatBody("g") })).code).toBe("signature_required");
    expect((await call(rotated.key, { body: chatBody("g"), sign: { secret: third } })).status).toBe(200);
    // signing off: plain requests work again
    await sec.disableSigning(db(), CLI_ACTOR, tenant.id, { keyId: rotated.apiKey.id });
    expect((await call(rotated.key, { body: chatBody("h") })).status).toBe(200);
  });

  it("the official openai SDK with the documented fetch helper: plain and streaming; without it the key is useless", async () => {
    const { key, secret } = await signedKey();
    const client = new OpenAI({ baseURL: `${server.url}${BASE}/api/v1`, apiKey: key, fetch: signedFetch(secret), maxRetries: 0 });
    const r = await client.chat.completions.create({ model: alias, messages: [{ role: "user", content: "hi" }] });
    expect(r.choices[0]!.message.content).toBe("Hello from upstream.");
    let text = "";
    const stream = await client.chat.completions.create({ model: alias, messages: [{ role: "user", content: "hi" }], stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("Hello from upstream.");
    // identical requests back to back are not mistaken for replays (the helper moves t on)
    await client.chat.completions.create({ model: alias, messages: [{ role: "user", content: "hi" }] });
    expect((await client.models.list()).data.length).toBeGreaterThan(0);

    const bare = new OpenAI({ baseURL: `${server.url}${BASE}/api/v1`, apiKey: key, maxRetries: 0 });
    await expect(bare.chat.completions.create({ model: alias, messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({
      status: 401,
      code: "signature_required",
    });
  });
});

// ---- IP allowlists ---------------------------------------------------------------------

async function keyWithAllowlist(list: string[] | null, tenantId = tenant.id) {
  const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenantId, { name: `ip-${uniq()}` });
  if (list) await sec.setKeyIpAllowlist(db(), CLI_ACTOR, tenantId, { keyId: apiKey.id, ipAllowlist: list });
  return key;
}

const get = (key: string, base = server.url, headers: Record<string, string> = {}) =>
  call(key, { method: "GET", path: `${BASE}/api/v1/models`, base, headers });

describe("IP allowlists (TRUST_PROXY unset: the socket address)", () => {
  it("inside the key's list: allowed; outside: 403 ip_not_allowed, logged with the reason", async () => {
    expect((await get(await keyWithAllowlist(["127.0.0.0/8"]))).status).toBe(200);
    const r = await get(await keyWithAllowlist(["10.0.0.0/8", "2001:db8::/32"]));
    expect([r.status, r.code]).toEqual([403, "ip_not_allowed"]);
    expect(await logOf(r.requestId)).toMatchObject({ status: "error", httpStatus: 403, errorCode: "ip_not_allowed" });
  });

  it("IPv6: a ::1 client matches ::1/128, not an IPv4 range", async () => {
    expect((await get(await keyWithAllowlist(["::1"]), server6.url)).status).toBe(200);
    expect((await get(await keyWithAllowlist(["127.0.0.0/8"]), server6.url)).code).toBe("ip_not_allowed");
    expect((await get(await keyWithAllowlist(["::1"]))).code).toBe("ip_not_allowed");
  });

  it("a forged X-Forwarded-For (or our own peer header) changes nothing without a trusted proxy", async () => {
    const key = await keyWithAllowlist(["203.0.113.0/24"]);
    const forged: Record<string, string>[] = [{ "x-forwarded-for": "203.0.113.9" }, { "x-switchyard-peer": "203.0.113.9" }, { "x-real-ip": "203.0.113.9" }];
    for (const h of forged) {
      expect((await get(key, server.url, h)).code, JSON.stringify(h)).toBe("ip_not_allowed");
    }
    const local = await keyWithAllowlist(["127.0.0.1"]);
    expect((await get(local, server.url, { "x-forwarded-for": "198.51.100.1" })).status).toBe(200);
  });

  it("the tenant's list binds every key of the tenant, and both lists must allow", async () => {
    const t = await makeTenant();
    const open = await keyWithAllowlist(null, t.id);
    const own = await keyWithAllowlist(["127.0.0.1"], t.id);
    await sec.setTenantIpAllowlist(db(), CLI_ACTOR, t.id, { ipAllowlist: ["10.0.0.0/8"] });
    expect((await get(open)).code).toBe("ip_not_allowed");
    expect((await get(own)).code).toBe("ip_not_allowed");
    await sec.setTenantIpAllowlist(db(), CLI_ACTOR, t.id, { ipAllowlist: ["127.0.0.0/8", "::1"] });
    expect((await get(open)).status).toBe(200);
    expect((await get(own)).status).toBe(200);
    expect((await get(own, server6.url)).code).toBe("ip_not_allowed"); // the key's list has no ::1
    const audit = await db().auditLog.findMany({ where: { tenantId: t.id, action: "tenant.ip_allowlist" } });
    expect(audit).toHaveLength(2);
  });
});

// ---- other replicas: trusted proxy, and the replay cache in Redis -----------------------


describe("replicas", () => {
  it("behind a trusted proxy (TRUST_PROXY=1) the proxy's X-Forwarded-For entry counts, IPv6 too; what the client wrote left of it does not", async () => {
    const replica = await startV1ServerChild({ TRUST_PROXY: "1", BASE_PATH: BASE });
    try {
      const key = await keyWithAllowlist(["203.0.113.0/24", "2001:db8::/32"]);
      expect((await get(key, replica.url, { "x-forwarded-for": "203.0.113.9" })).status).toBe(200);
      expect((await get(key, replica.url, { "x-forwarded-for": "2001:db8::7" })).status).toBe(200);
      // the client forged the left entry; the proxy appended the address it saw
      expect((await get(key, replica.url, { "x-forwarded-for": "203.0.113.9, 198.51.100.1" })).code).toBe("ip_not_allowed");
      // no X-Forwarded-For at all: the socket (127.0.0.1), not in the list
      expect((await get(key, replica.url)).code).toBe("ip_not_allowed");
    } finally {
      await stopV1ServerChild(replica.child);
    }
  });

  it("a request replayed on a second replica sharing Redis is signature_replayed", async () => {
    const redis = await startRedis();
    const env = { REDIS_URL: redis.url, BASE_PATH: BASE, RATE_LIMIT_FAIL_MODE: "closed", RATE_LIMIT_REDIS_TIMEOUT_MS: "5000" };
    const replicas = await Promise.all([startV1ServerChild(env), startV1ServerChild(env)]);
    try {
      const { key, secret } = await signedKey();
      const t = now();
      const body = chatBody("two replicas");
      const sign = { secret, t };
      expect((await call(key, { body, sign, base: replicas[0]!.url })).status).toBe(200);
      const replay = await call(key, { body, sign, base: replicas[1]!.url });
      expect([replay.status, replay.code]).toEqual([401, "signature_replayed"]);
      expect((await call(key, { body, sign, base: replicas[0]!.url })).code).toBe("signature_replayed");
    } finally {
      await Promise.all(replicas.map((r) => stopV1ServerChild(r.child)));
      await redis.stop();
    }
  });
});
