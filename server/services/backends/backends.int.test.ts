/**
 * Remote backends on the real database, against a fake OpenAI-compatible server
 * on loopback: the credential is encrypted at rest, bound to its row and never
 * returned; discovery and health checks; removal refused while a policy uses it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { makeTenant, makeUser, callerFor, uniq } from "../../test/fixtures";
import { type FakeUpstream, startFakeUpstream } from "../../test/fake-upstream";
import { CLI_ACTOR } from "../audit/audit";
import { createPolicy } from "../routing/routing";
import { checkAllBackends, createBackend, specOfBackend } from "./backends";

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
    await checkAllBackends(db());
    expect(await db().backend.findUniqueOrThrow({ where: { id: alive.id } })).toMatchObject({ health: "healthy", lastError: null });
    expect((await db().backend.findUniqueOrThrow({ where: { id: dead.id } })).health).toBe("unhealthy");
  });

  it("names are unique", async () => {
    const name = `b-${uniq()}`;
    await createBackend(db(), CLI_ACTOR, { name, baseUrl: up.url, discover: false });
    await expect(createBackend(db(), CLI_ACTOR, { name, baseUrl: up.url, discover: false })).rejects.toMatchObject({ code: "backend_exists" });
  });
});
