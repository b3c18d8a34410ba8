/**
 * API keys against the real database: what is stored (no plaintext), what lists
 * show, and verifyApiKey's cache — revocation within a second, negative caching,
 * one lookup for concurrent first requests, lastUsedAt written off the request path.
 * Role and tenant-isolation checks for the tRPC procedures come from the table in
 * server/test/procedures.ts.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { KEY_INFO, deriveKey } from "../../auth/derived-keys";
import { NO_LIMITS } from "../../auth/principal";
import { type Db, db } from "../../db/client";
import { makeTenant, tenantWithMember, uniq } from "../../test/fixtures";
import { auditBy } from "../../test/trpc";
import { CLI_ACTOR } from "../audit/audit";
import { setTenantStatus } from "../tenants/tenants";
import { NEGATIVE_TTL_MS, POSITIVE_TTL_MS, flushLastUsed, pendingLastUsed, verifyApiKey } from "../../auth/verify-api-key";
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, rotateApiKey } from "./api-keys";
import { generateApiKey, hashApiKey } from "../../auth/key-format";

/** A client on the same database that records every operation, to show what verify does (and doesn't) ask. */
function countingDb(opts: { afterQuery?: () => Promise<void> } = {}) {
  const ops: string[] = [];
  const client = db().$extends({
    query: {
      async $allOperations({ model, operation, args, query }) {
        ops.push(`${model}.${operation}`);
        const result = await query(args);
        await opts.afterQuery?.();
        return result;
      },
    },
  }) as unknown as Db;
  return { client, ops };
}

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));

async function keyIn(tenantId: string, input: Parameters<typeof createApiKey>[3] = { name: `k-${uniq()}` }) {
  return createApiKey(db(), CLI_ACTOR, tenantId, input);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("creating a key", () => {
  it("returns a key once, which verifies to the tenant's principal with the key's scopes and models", async () => {
    const { tenant, user, caller } = await tenantWithMember("admin");
    const { key, apiKey } = await caller.apiKeys.create({
      tenantId: tenant.id,
      name: "  billing service ",
      scopes: ["embeddings", "chat"],
      models: ["qwen-small", "nomic-embed"],
    });
    expect(key).toMatch(/^sk-sy-[0-9A-Za-z]{43}$/);
    expect(apiKey).toMatchObject({
      name: "billing service",
      prefix: key.slice(0, 12),
      scopes: ["chat", "embeddings"],
      models: ["qwen-small", "nomic-embed"],
      status: "active",
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      createdById: user.id,
      tenantId: tenant.id,
    });
    expect(apiKey.id).toMatch(/^key_/);
    expect(apiKey).not.toHaveProperty("hash");

    expect(await verifyApiKey(key)).toEqual({
      kind: "api_key",
      tenantId: tenant.id,
      tenantSlug: tenant.slug,
      tenantStatus: "active",
      apiKeyId: apiKey.id,
      userId: null,
      scopes: ["chat", "embeddings"],
      models: ["qwen-small", "nomic-embed"],
      // no limits set on the tenant or the key
      limits: { tenant: { ...NO_LIMITS, budgetWarnPercent: null }, key: NO_LIMITS },
    });
  });

  it("defaults to every scope and every model", async () => {
    const tenant = await makeTenant();
    const { key } = await keyIn(tenant.id);
    expect(await verifyApiKey(key)).toMatchObject({ scopes: ["chat", "completions", "embeddings", "models"], models: null });
  });

  it("stores only an HMAC of the key (under the HKDF-derived server key) and a 12-character prefix", async () => {
    const { tenant, user, caller } = await tenantWithMember("owner");
    const { key, apiKey } = await caller.apiKeys.create({ tenantId: tenant.id, name: "secret-holder" });
    const row = await db().apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(row.hash).not.toBe(key);
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    // derived independently here: HMAC-SHA-256 under HKDF(AUTH_SECRET, "switchyard/api-key-hmac/v1")
    expect(row.hash).toBe(hashApiKey(key, deriveKey(process.env.AUTH_SECRET!, KEY_INFO.apiKeyHmac)));
    expect(row.prefix).toBe(key.slice(0, 12));
    expect(json(row)).not.toContain(key);
    expect(json(row)).not.toContain(key.slice(12)); // not even the secret part on its own

    const audit = await auditBy(user.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "api_key.create", targetType: "api_key", targetId: apiKey.id, tenantId: tenant.id });
    expect(JSON.parse(audit[0]!.data!)).toEqual({
      name: "secret-holder",
      prefix: row.prefix,
      scopes: ["chat", "completions", "embeddings", "models"],
      models: null,
      expiresAt: null,
    });
    const everyAuditRow = json(await db().auditLog.findMany({ where: { tenantId: tenant.id } }));
    expect(everyAuditRow).not.toContain(key.slice(12));
    expect(everyAuditRow).not.toContain(row.hash);
  });

  it("for a tenant that does not exist is NOT_FOUND and stores nothing", async () => {
    const before = await db().apiKey.count();
    await expect(keyIn("tnt_doesnotexist")).rejects.toMatchObject({ kind: "not_found" });
    expect(await db().apiKey.count()).toBe(before);
  });
});

describe("listing keys", () => {
  it("shows names, prefixes and status — never a hash or a key — for the tenant's keys only, newest first", async () => {
    const { tenant, caller } = await tenantWithMember("viewer");
    const other = await makeTenant();
    const a = await keyIn(tenant.id, { name: "first" });
    const b = await keyIn(tenant.id, { name: "second", expiresAt: new Date(Date.now() + 60_000) });
    const c = await keyIn(tenant.id, { name: "third" });
    await keyIn(other.id, { name: "elsewhere" });
    await db().apiKey.update({ where: { id: b.apiKey.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await revokeApiKey(db(), CLI_ACTOR, tenant.id, { keyId: c.apiKey.id });
    // distinct creation times, so the order is unambiguous
    for (const [i, k] of [a, b, c].entries()) {
      await db().apiKey.update({ where: { id: k.apiKey.id }, data: { createdAt: new Date(Date.UTC(2030, 0, 1 + i)) } });
    }

    const list = await caller.apiKeys.list({ tenantId: tenant.id });
    expect(list.map((k) => [k.name, k.status])).toEqual([
      ["third", "revoked"],
      ["second", "expired"],
      ["first", "active"],
    ]);
    expect(Object.keys(list[0]!).sort()).toEqual(
      ["createdAt", "createdById", "expiresAt", "id", "ipAllowlist", "lastUsedAt", "models", "name", "prefix", "revokedAt", "rotatedFromId", "scopes", "signingPreviousUntil", "signingRequired", "status", "tenantId"].sort(),
    );
    expect(list[2]!.prefix).toBe(a.key.slice(0, 12));
    const text = json(list);
    for (const k of [a, b, c]) expect(text).not.toContain(k.key);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });

  it("getApiKey: another tenant's key is NOT_FOUND", async () => {
    const [t1, t2] = await Promise.all([makeTenant(), makeTenant()]);
    const { apiKey } = await keyIn(t2.id);
    expect((await getApiKey(db(), t2.id, apiKey.id)).id).toBe(apiKey.id);
    await expect(getApiKey(db(), t1.id, apiKey.id)).rejects.toMatchObject({ kind: "not_found" });
  });
});

describe("verifyApiKey", () => {
  it("null for malformed keys, without touching the database", async () => {
    const { client, ops } = countingDb();
    const good = generateApiKey();
    for (const bad of ["", "sk-sy-short", good.slice(0, -1), "sk-proj-" + good.slice(6), good.replace("sk-sy-", "sk-xx-")]) {
      expect(await verifyApiKey(bad, { db: client })).toBeNull();
    }
    expect(ops).toEqual([]);
  });

  it("an unknown key is looked up once, then answered from the negative cache", async () => {
    const { client, ops } = countingDb();
    const unknown = generateApiKey();
    expect(await verifyApiKey(unknown, { db: client })).toBeNull();
    expect(ops).toEqual(["ApiKey.findUnique"]);
    for (let i = 0; i < 5; i++) expect(await verifyApiKey(unknown, { db: client })).toBeNull();
    expect(ops).toHaveLength(1);
    expect(NEGATIVE_TTL_MS).toBeGreaterThanOrEqual(1000);
  });

  it("a valid key is looked up once for concurrent first requests, then served from the cache", async () => {
    const tenant = await makeTenant();
    const { key, apiKey } = await keyIn(tenant.id);
    const { client, ops } = countingDb();
    const results = await Promise.all(Array.from({ length: 8 }, () => verifyApiKey(key, { db: client })));
    expect(results.every((p) => p?.apiKeyId === apiKey.id)).toBe(true);
    expect(await verifyApiKey(key, { db: client })).toMatchObject({ apiKeyId: apiKey.id });
    expect(ops).toEqual(["ApiKey.findUnique"]);
  });

  it("hands out copies: changing a returned principal does not change the next one", async () => {
    const tenant = await makeTenant();
    const { key } = await keyIn(tenant.id, { name: "k", scopes: ["chat"], models: ["m"] });
    const p = (await verifyApiKey(key))!;
    p.scopes.push("embeddings");
    p.models!.push("other");
    expect(await verifyApiKey(key)).toMatchObject({ scopes: ["chat"], models: ["m"] });
  });

  it("revoking in this process: the next verify is null at once, answered from memory", async () => {
    const { tenant, user, caller } = await tenantWithMember("admin");
    const { key, apiKey } = await keyIn(tenant.id);
    expect(await verifyApiKey(key)).not.toBeNull(); // now cached

    const revoked = await caller.apiKeys.revoke({ tenantId: tenant.id, keyId: apiKey.id });
    expect(revoked).toMatchObject({ id: apiKey.id, status: "revoked" });
    expect(revoked.revokedAt).toBeInstanceOf(Date);

    const { client, ops } = countingDb();
    expect(await verifyApiKey(key, { db: client })).toBeNull();
    expect(ops).toEqual([]); // the revoke invalidated the cache entry itself; no wait for a TTL

    const audit = await auditBy(user.id);
    expect(audit.map((r) => [r.action, r.targetId])).toEqual([["api_key.revoke", apiKey.id]]);
    expect(JSON.parse(audit[0]!.data!)).toEqual({ name: apiKey.name, prefix: apiKey.prefix });
  });

  it("revoking an already revoked key changes nothing and writes no audit row", async () => {
    const { tenant, user, caller } = await tenantWithMember("admin");
    const { apiKey } = await keyIn(tenant.id);
    const first = await caller.apiKeys.revoke({ tenantId: tenant.id, keyId: apiKey.id });
    const again = await caller.apiKeys.revoke({ tenantId: tenant.id, keyId: apiKey.id });
    expect(again.revokedAt).toEqual(first.revokedAt);
    expect(again.status).toBe("revoked");
    expect((await auditBy(user.id)).map((r) => r.action)).toEqual(["api_key.revoke"]);
  });

  it("revoked by another process (the row changes under us): null within 1 s", async () => {
    const tenant = await makeTenant();
    const { key, apiKey } = await keyIn(tenant.id);
    expect(await verifyApiKey(key)).not.toBeNull(); // cached here
    await db().apiKey.update({ where: { id: apiKey.id }, data: { revokedAt: new Date() } });
    const revokedAt = Date.now();
    await vi.waitFor(async () => expect(await verifyApiKey(key)).toBeNull(), { timeout: 1000, interval: 20 });
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(POSITIVE_TTL_MS).toBeLessThan(1000);
  });

  it("a lookup in flight while the key is revoked does not put it back in the cache", async () => {
    const tenant = await makeTenant();
    const { key, apiKey } = await keyIn(tenant.id);
    let release!: () => void;
    let read!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rowRead = new Promise<void>((r) => (read = r));
    // the lookup reads the (still valid) row, then its answer is held back until the key is revoked
    const { client } = countingDb({
      afterQuery: () => {
        read();
        return gate;
      },
    });
    const inFlight = verifyApiKey(key, { db: client });
    await rowRead;
    await revokeApiKey(db(), CLI_ACTOR, tenant.id, { keyId: apiKey.id });
    release();
    // the request that started before the revoke may pass; nothing after it may
    expect((await inFlight)?.apiKeyId).toBe(apiKey.id);
    expect(await verifyApiKey(key)).toBeNull();
  });

  it("an expired key is null", async () => {
    const tenant = await makeTenant();
    const { key, apiKey } = await keyIn(tenant.id, { name: "short-lived", expiresAt: new Date(Date.now() + 60_000) });
    await db().apiKey.update({ where: { id: apiKey.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await verifyApiKey(key)).toBeNull();
  });

  it("a cached key stops verifying at its expiresAt, whatever the cache TTL", async () => {
    const tenant = await makeTenant();
    const expiresAt = new Date(Date.now() + 60_000);
    const { key } = await keyIn(tenant.id, { name: "short-lived", expiresAt });
    expect(await verifyApiKey(key)).not.toBeNull();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expiresAt);
    const { client, ops } = countingDb();
    expect(await verifyApiKey(key, { db: client })).toBeNull();
    expect(ops.length).toBeLessThanOrEqual(1);
  });

  it("a suspended tenant's key still resolves, with tenantStatus suspended (the /v1 layer answers 403)", async () => {
    const tenant = await makeTenant();
    const { key } = await keyIn(tenant.id);
    await setTenantStatus(db(), CLI_ACTOR, tenant.id, "suspended");
    expect(await verifyApiKey(key)).toMatchObject({ tenantId: tenant.id, tenantStatus: "suspended" });
  });

  it("suspending a tenant shows in verified principals within 1 s", async () => {
    const tenant = await makeTenant();
    const { key } = await keyIn(tenant.id);
    expect(await verifyApiKey(key)).toMatchObject({ tenantStatus: "active" });
    await setTenantStatus(db(), CLI_ACTOR, tenant.id, "suspended");
    const t0 = Date.now();
    await vi.waitFor(async () => expect(await verifyApiKey(key)).toMatchObject({ tenantStatus: "suspended" }), {
      timeout: 1000,
      interval: 20,
    });
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe("lastUsedAt", () => {
  it("is not written on the request path; one updateMany per flush records every key used", async () => {
    await flushLastUsed(); // start from an empty batch
    const tenant = await makeTenant();
    const [k1, k2, unused] = await Promise.all([keyIn(tenant.id), keyIn(tenant.id), keyIn(tenant.id)]);
    const { client, ops } = countingDb();
    for (let i = 0; i < 3; i++) {
      await verifyApiKey(k1.key, { db: client });
      await verifyApiKey(k2.key, { db: client });
    }
    expect(ops).toEqual(["ApiKey.findUnique", "ApiKey.findUnique"]); // reads only
    expect(pendingLastUsed()).toBeGreaterThanOrEqual(2);

    const before = Date.now();
    const flush = countingDb();
    await flushLastUsed({ db: flush.client });
    expect(flush.ops).toEqual(["ApiKey.updateMany"]);
    expect(pendingLastUsed()).toBe(0);
    const rows = await db().apiKey.findMany({ where: { tenantId: tenant.id } });
    const used = (id: string) => rows.find((r) => r.id === id)!.lastUsedAt;
    expect(used(k1.apiKey.id)!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(used(k2.apiKey.id)).toEqual(used(k1.apiKey.id));
    expect(used(unused.apiKey.id)).toBeNull();

    await flushLastUsed({ db: flush.client }); // nothing pending: no write
    expect(flush.ops).toHaveLength(1);
  });

  it("the key's lastUsedAt shows in the list after a flush", async () => {
    const { tenant, caller } = await tenantWithMember("viewer");
    const { key, apiKey } = await keyIn(tenant.id);
    await verifyApiKey(key);
    await flushLastUsed();
    const listed = (await listApiKeys(db(), tenant.id)).find((k) => k.id === apiKey.id)!;
    expect(listed.lastUsedAt).toBeInstanceOf(Date);
    expect((await caller.apiKeys.list({ tenantId: tenant.id }))[0]!.lastUsedAt).toEqual(listed.lastUsedAt);
  });
});

describe("the service keeps tenants apart", () => {
  it("revokeApiKey with another tenant's key id is NOT_FOUND and leaves the key working", async () => {
    const [a, b] = await Promise.all([makeTenant(), makeTenant()]);
    const { key, apiKey } = await keyIn(b.id);
    await expect(revokeApiKey(db(), CLI_ACTOR, a.id, { keyId: apiKey.id })).rejects.toMatchObject({ kind: "not_found" });
    expect((await db().apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).revokedAt).toBeNull();
    expect(await verifyApiKey(key)).toMatchObject({ tenantId: b.id });
    expect(await db().auditLog.count({ where: { tenantId: a.id, action: "api_key.revoke" } })).toBe(0);
  });
});

describe("rotating a key", () => {
  it("issues a replacement with the same name, scopes and models; the old key works through the grace period, then stops", async () => {
    const t = await makeTenant();
    const { key: oldKey, apiKey } = await keyIn(t.id, { name: "svc", scopes: ["chat"], models: ["demo"] });
    expect(await verifyApiKey(oldKey)).not.toBeNull(); // cached as valid before the rotation
    const now = new Date();
    const r = await rotateApiKey(db(), CLI_ACTOR, t.id, { keyId: apiKey.id, graceSeconds: 60 }, now);
    expect(r.key).not.toBe(oldKey);
    expect(r.apiKey).toMatchObject({ name: "svc", scopes: ["chat"], models: ["demo"], rotatedFromId: apiKey.id, status: "active" });
    expect(r.previous.expiresAt!.getTime()).toBe(now.getTime() + 60_000);
    // Both work inside the grace period — including right after, in the process that rotated.
    expect((await verifyApiKey(oldKey))?.apiKeyId).toBe(apiKey.id);
    expect((await verifyApiKey(r.key))?.apiKeyId).toBe(r.apiKey.id);
    // After it, only the new one.
    vi.useFakeTimers({ now: now.getTime() + 61_000, toFake: ["Date"] });
    expect(await verifyApiKey(oldKey)).toBeNull();
    expect((await verifyApiKey(r.key))?.apiKeyId).toBe(r.apiKey.id);
    const audit = await db().auditLog.findMany({ where: { tenantId: t.id, action: "api_key.rotate" } });
    expect(audit).toHaveLength(1);
    expect(json(audit)).not.toContain(r.key);
  });

  it("never extends an old key: one that ends before the grace period keeps its end, and so does the replacement", async () => {
    const t = await makeTenant();
    const soon = new Date(Date.now() + 30_000);
    const { apiKey } = await keyIn(t.id, { name: "short", expiresAt: soon });
    const r = await rotateApiKey(db(), CLI_ACTOR, t.id, { keyId: apiKey.id, graceSeconds: 3600 });
    expect(r.previous.expiresAt!.getTime()).toBe(soon.getTime());
    expect(r.apiKey.expiresAt!.getTime()).toBe(soon.getTime());
  });

  it("refuses revoked keys and another tenant's keys, changing nothing", async () => {
    const a = await makeTenant();
    const b = await makeTenant();
    const { apiKey } = await keyIn(a.id);
    await expect(rotateApiKey(db(), CLI_ACTOR, b.id, { keyId: apiKey.id, graceSeconds: 60 })).rejects.toMatchObject({ kind: "not_found" });
    await revokeApiKey(db(), CLI_ACTOR, a.id, { keyId: apiKey.id });
    await expect(rotateApiKey(db(), CLI_ACTOR, a.id, { keyId: apiKey.id, graceSeconds: 60 })).rejects.toMatchObject({
      kind: "conflict",
      code: "key_not_active",
    });
    expect(await db().apiKey.count({ where: { tenantId: { in: [a.id, b.id] } } })).toBe(1);
  });
});
