/**
 * Remote backends on the real database, against a fake OpenAI-compatible server
 * on loopback: the credential is encrypted at rest, bound to its row and never
 * returned; discovery and health checks; removal refused while a policy uses it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { makeTenant, makeUser, callerFor, tenantWithMember, uniq } from "../../test/fixtures";
import { type FakeUpstream, startFakeUpstream } from "../../test/fake-upstream";
import { CLI_ACTOR } from "../audit/audit";
import { createPolicy } from "../routing/policies";
import { checkAllBackends, createBackend, specOfBackend } from "./backends";
import { configChanged } from "../routing/config-cache";

let up: FakeUpstream;
beforeAll(async () => {
  up = await startFakeUpstream({ models: ["llama-3-8b", "qwen-7b"] });
});
afterAll(() => up.close());

const SECRET = "sk-live-upstream-0123456789";

describe("backends", () => {
  it("registers with discovery; the credential is sealed at rest, bound to its row, and never returned", async () => {
    const admin = await makeUser({ admin: true });
    const caller = callerFor(admin.id);
    const b = await caller.backends.create({ name: `b-${uniq()}`, baseUrl: up.url, credential: SECRET });
    expect(b).toMatchObject({ health: "healthy", models: ["llama-3-8b", "qwen-7b"], hasCredential: true, lastError: null });
    expect(JSON.stringify(b)).not.toContain(SECRET);
    expect(b).not.toHaveProperty("credentialEnc");
    expect(JSON.stringify(await caller.backends.list())).not.toContain(SECRET);
    expect(up.requests).toHaveLength(0); // discovery is a GET /models, not a completion

    const row = await db().backend.findUniqueOrThrow({ where: { id: b.id } });
    expect(row.credentialEnc).toMatch(/^v1\./);
    expect(row.credentialEnc).not.toContain(SECRET);
    expect(specOfBackend(row).credential).toBe(SECRET);
    // copied onto another row it does not open
    expect(specOfBackend({ ...row, id: "bke_other" }).credential).toBeNull();

    const audit = await db().auditLog.findFirstOrThrow({ where: { targetId: b.id, action: "backend.create" } });
    expect(audit.data).not.toContain(SECRET);

    // replace, then remove the credential
    const replaced = await caller.backends.update({ id: b.id, credential: "sk-new" });
    expect(replaced.hasCredential).toBe(true);
    expect(specOfBackend(await db().backend.findUniqueOrThrow({ where: { id: b.id } })).credential).toBe("sk-new");
    expect((await caller.backends.update({ id: b.id, credential: null })).hasCredential).toBe(false);
  });

  it("a backend that is down at registration is saved, unhealthy, with the error; discover fails clearly", async () => {
    const admin = await makeUser({ admin: true });
    const caller = callerFor(admin.id);
    const b = await caller.backends.create({ name: `b-${uniq()}`, baseUrl: "http://127.0.0.1:9/v1", connectTimeoutMs: 1000 });
    expect(b).toMatchObject({ health: "unhealthy", models: [] });
    expect(b.lastError).toMatch(/unreachable|timed out/);
    await expect(caller.backends.discover({ id: b.id })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("cannot be removed while a routing policy targets it", async () => {
    const admin = await makeUser({ admin: true });
    const caller = callerFor(admin.id);
    const b = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: up.url, discover: false, models: ["qwen-7b"], public: true });
    const tenant = await makeTenant();
    await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: `a-${uniq()}`, strategy: "single", targets: [{ type: "backend", backendId: b.id, model: "qwen-7b" }] });
    await expect(caller.backends.remove({ id: b.id })).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await db().backend.count({ where: { id: b.id } })).toBe(1);
  });

  it("the periodic round closes the circuit of a backend that answers again, and leaves a dead one open", async () => {
    const alive = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: up.url, discover: false });
    const dead = await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: "http://127.0.0.1:9/v1", discover: false, connectTimeoutMs: 1000 });
    await db().backend.updateMany({ where: { id: { in: [alive.id, dead.id] } }, data: { health: "unhealthy", lastError: "boom" } });
    await configChanged(); // as every writer does: replicas drop their routing cache
    await checkAllBackends(db());
    expect(await db().backend.findUniqueOrThrow({ where: { id: alive.id } })).toMatchObject({ health: "healthy", lastError: null });
    expect((await db().backend.findUniqueOrThrow({ where: { id: dead.id } })).health).toBe("unhealthy");
  });

  it("discovery records the models whose /models entry says they take images; a check leaves them alone", async () => {
    const vl = await startFakeUpstream({
      models: ["qwen-vl", "llama-text", "pixtral", "gemma-mm"],
      modelFields: {
        "qwen-vl": { capabilities: ["completion", "vision"] },
        "llama-text": { capabilities: ["completion"], architecture: { input_modalities: ["text"] } },
        pixtral: { architecture: { input_modalities: ["text", "image"] } },
        "gemma-mm": { input_modalities: ["text", "image"] },
      },
    });
    try {
      const admin = await makeUser({ admin: true });
      const caller = callerFor(admin.id);
      const b = await caller.backends.create({ name: `b-${uniq()}`, baseUrl: vl.url });
      expect(b).toMatchObject({ health: "healthy", vision: null, visionModels: ["qwen-vl", "pixtral", "gemma-mm"] });
      expect(b.models).toEqual(["qwen-vl", "llama-text", "pixtral", "gemma-mm"]);
      // a later discover re-reads them; its audit row counts them
      await db().backend.update({ where: { id: b.id }, data: { visionModels: "[]" } });
      await configChanged(); // as every writer does: replicas drop their routing cache
      expect((await caller.backends.discover({ id: b.id })).visionModels).toEqual(["qwen-vl", "pixtral", "gemma-mm"]);
      const audit = await db().auditLog.findFirstOrThrow({ where: { targetId: b.id, action: "backend.discover" } });
      expect(JSON.parse(audit.data!)).toMatchObject({ models: 4, visionModels: 3 });
      // health checks do not adopt models
      await db().backend.update({ where: { id: b.id }, data: { visionModels: '["kept"]' } });
      await configChanged(); // as every writer does: replicas drop their routing cache
      expect((await caller.backends.check({ id: b.id })).visionModels).toEqual(["kept"]);
      // an upstream without such fields: nothing is capable by discovery
      const plain = await caller.backends.create({ name: `b-${uniq()}`, baseUrl: up.url });
      expect(plain.visionModels).toEqual([]);
    } finally {
      await vl.close();
    }
  });

  it("image input is declared at creation and changed or cleared later, through tRPC, with audit rows", async () => {
    const admin = await makeUser({ admin: true });
    const caller = callerFor(admin.id);
    const b = await caller.backends.create({ name: `b-${uniq()}`, baseUrl: up.url, discover: false, vision: false });
    expect(b.vision).toBe(false);
    expect(JSON.parse((await db().auditLog.findFirstOrThrow({ where: { targetId: b.id, action: "backend.create" } })).data!)).toMatchObject({ vision: false });
    expect((await caller.backends.update({ id: b.id, vision: true })).vision).toBe(true);
    // absent keeps it
    expect((await caller.backends.update({ id: b.id, enabled: true })).vision).toBe(true);
    expect((await caller.backends.update({ id: b.id, vision: null })).vision).toBeNull();
    const updates = await db().auditLog.findMany({ where: { targetId: b.id, action: "backend.update" }, orderBy: { id: "asc" } });
    expect(updates.map((a) => (JSON.parse(a.data!) as { vision?: unknown }).vision)).toEqual([true, undefined, null]);
    expect((await db().backend.findUniqueOrThrow({ where: { id: b.id } })).vision).toBeNull();
    // the default is not declared
    expect((await caller.backends.create({ name: `b-${uniq()}`, baseUrl: up.url, discover: false })).vision).toBeNull();
    await expect(caller.backends.update({ id: b.id, vision: "yes" as never })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    // only platform admins
    const { caller: owner } = await tenantWithMember("owner");
    await expect(owner.backends.update({ id: b.id, vision: true })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("names are unique", async () => {
    const name = `b-${uniq()}`;
    await createBackend(db(), CLI_ACTOR, { name, baseUrl: up.url, discover: false });
    await expect(createBackend(db(), CLI_ACTOR, { name, baseUrl: up.url, discover: false })).rejects.toMatchObject({ code: "backend_exists" });
  });
});
