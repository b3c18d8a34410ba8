/**
 * Routing a request with image parts on the real database: local models and
 * backends declared text-only leave the plan (listed in `skipped`), undeclared
 * ones stay (the upstream decides), and a name none of whose targets takes images
 * is a 400 (model_not_supported), not a 503. Without images nothing changes.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeTinyModel } from "../../../scripts/tiny-gguf/make-tiny-model";
import { NO_LIMITS, type Principal } from "../../auth/principal";
import { db } from "../../db/client";
import type { ChatMessage } from "../../inference/types";
import { makeTenant, tenantWithMember, uniq } from "../../test/fixtures";
import { CLI_ACTOR } from "../audit/audit";
import { createBackend, updateBackend } from "../backends/backends";
import { addModel } from "../models/models";
import { TEXT_ONLY, dryRun, planRoute } from "./plan";
import { createPolicy } from "./policies";
import { configChanged } from "./config-cache";
import type { PolicyTarget } from "./schemas";

let file: string;
beforeAll(() => {
  file = path.join(mkdtempSync(path.join(tmpdir(), "switchyard-routing-img-")), "tiny.gguf");
  writeTinyModel(file);
});

const localModel = async () => (await addModel(db(), CLI_ACTOR, { name: `m-${uniq()}`, source: file, contextSize: 256, parallel: 1, threads: 1 })).name;
/** A backend nobody calls (planning only), serving `models`, with an image-input declaration. */
const backend = async (vision: boolean | null, models = ["vl", "txt"]) =>
  createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: "http://127.0.0.1:9/v1", discover: false, models, public: true, vision });

function principalOf(tenant: { id: string; slug: string }): Principal {
  return {
    kind: "api_key",
    tenantId: tenant.id,
    tenantSlug: tenant.slug,
    tenantStatus: "active",
    apiKeyId: "key_test",
    userId: null,
    scopes: ["chat"],
    models: null,
    limits: { tenant: { ...NO_LIMITS, budgetWarnPercent: null }, key: null },
  };
}

const TEXT: ChatMessage[] = [{ role: "user", content: "Describe it" }];
const IMAGE: ChatMessage[] = [
  { role: "system", content: "be brief" },
  { role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image", url: "data:image/png;base64,iVBORw0KGgo=" }] },
];

async function aliasOf(tenantId: string, strategy: "single" | "fallback", targets: PolicyTarget[]) {
  return createPolicy(db(), CLI_ACTOR, tenantId, { alias: `img-${uniq()}`, strategy, targets });
}

describe("routing requests with images", () => {
  it("skips local models and text-only backends, keeps capable and undeclared ones, in order; without images keeps all", async () => {
    const tenant = await makeTenant();
    const p = principalOf(tenant);
    const m = await localModel();
    const textOnly = await backend(false);
    const undeclared = await backend(null);
    const capable = await backend(true);
    const targets: PolicyTarget[] = [
      { type: "model", model: m },
      { type: "backend", backendId: textOnly.id, model: "vl" },
      { type: "backend", backendId: undeclared.id, model: "txt" },
      { type: "backend", backendId: capable.id, model: "vl" },
    ];
    const alias = await aliasOf(tenant.id, "fallback", targets);
    const keys = [`model:${m}`, `backend:${textOnly.id}/vl`, `backend:${undeclared.id}/txt`, `backend:${capable.id}/vl`];

    const plain = await planRoute(db(), p, alias.alias, { messages: TEXT });
    expect(plain.candidates.map((c) => c.key)).toEqual(keys);
    expect(plain.skipped).toEqual([]);

    const withImages = await planRoute(db(), p, alias.alias, { messages: IMAGE });
    expect(withImages.candidates.map((c) => c.key)).toEqual([keys[2], keys[3]]);
    expect(withImages.skipped).toEqual([
      { key: keys[0], why: TEXT_ONLY },
      { key: keys[1], why: TEXT_ONLY },
    ]);
    expect(withImages.reason).toBe(`fallback: first in chain; skipped ${TEXT_ONLY} ${keys[0]}, ${keys[1]}`);
  });

  it("a backend's discovered image models count when it declares nothing; a declaration wins over discovery", async () => {
    const tenant = await makeTenant();
    const p = principalOf(tenant);
    const b = await backend(null);
    await db().backend.update({ where: { id: b.id }, data: { visionModels: JSON.stringify(["vl"]) } });
    await configChanged(); // as every writer does: replicas drop their routing cache
    const m = await localModel();
    const alias = await aliasOf(tenant.id, "fallback", [
      { type: "model", model: m },
      { type: "backend", backendId: b.id, model: "vl" },
    ]);
    expect((await planRoute(db(), p, alias.alias, { messages: IMAGE })).candidates.map((c) => c.key)).toEqual([`backend:${b.id}/vl`]);
    // declared text-only: discovery no longer matters, and nothing is left → 400
    await updateBackend(db(), CLI_ACTOR, { id: b.id, vision: false });
    await expect(planRoute(db(), p, alias.alias, { messages: IMAGE })).rejects.toMatchObject({ kind: "invalid", code: "model_not_supported", param: "messages" });
    // cleared again (null): back to discovery
    await updateBackend(db(), CLI_ACTOR, { id: b.id, vision: null });
    expect((await planRoute(db(), p, alias.alias, { messages: IMAGE })).candidates).toHaveLength(1);
  });

  it("400 model_not_supported naming the alias and its targets when none takes images (through a nested alias too)", async () => {
    const tenant = await makeTenant();
    const p = principalOf(tenant);
    const m = await localModel();
    const textOnly = await backend(false);
    const inner = await aliasOf(tenant.id, "single", [{ type: "backend", backendId: textOnly.id, model: "txt" }]);
    const outer = await aliasOf(tenant.id, "fallback", [
      { type: "model", model: m },
      { type: "alias", alias: inner.alias },
    ]);
    const e = (await planRoute(db(), p, outer.alias, { messages: IMAGE }).catch((x: unknown) => x)) as { kind: string; code: string; param: string; message: string };
    expect(e).toMatchObject({ kind: "invalid", code: "model_not_supported", param: "messages" });
    expect(e.message).toBe(`The model '${outer.alias}' does not accept image input (its targets: ${m} (local model, text only), ${textOnly.name}/txt (text only))`);
    // the same alias without images plans as usual
    expect((await planRoute(db(), p, outer.alias, { messages: TEXT })).candidates.map((c) => c.key)).toEqual([`model:${m}`, `backend:${textOnly.id}/txt`]);
  });

  it("a plain local model name with images is the same 400; without images it resolves", async () => {
    const tenant = await makeTenant();
    const m = await localModel();
    await expect(planRoute(db(), principalOf(tenant), m, { messages: IMAGE })).rejects.toMatchObject({
      kind: "invalid",
      code: "model_not_supported",
      param: "messages",
      message: `The model '${m}' does not accept image input (a local model: text only)`,
    });
    expect((await planRoute(db(), principalOf(tenant), m, { messages: TEXT })).candidates).toHaveLength(1);
    // an unknown name is still a 404, images or not
    await expect(planRoute(db(), principalOf(tenant), `nope-${uniq()}`, { messages: IMAGE })).rejects.toMatchObject({ kind: "not_found" });
  });

  it("a capable backend that is down makes it a retryable no-candidates plan (503), not a 400", async () => {
    const tenant = await makeTenant();
    const capable = await backend(true);
    const textOnly = await backend(false);
    await db().backend.update({ where: { id: capable.id }, data: { health: "unhealthy" } });
    await configChanged(); // as every writer does: replicas drop their routing cache
    const alias = await aliasOf(tenant.id, "fallback", [
      { type: "backend", backendId: capable.id, model: "vl" },
      { type: "backend", backendId: textOnly.id, model: "vl" },
    ]);
    const plan = await planRoute(db(), principalOf(tenant), alias.alias, { messages: IMAGE });
    expect(plan.candidates).toEqual([]);
    expect(plan.skipped).toEqual([
      { key: `backend:${capable.id}/vl`, why: "unhealthy" },
      { key: `backend:${textOnly.id}/vl`, why: TEXT_ONLY },
    ]);
  });

  it("dry run shows the skipped targets and each target's image input, and the 400", async () => {
    const { tenant, caller } = await tenantWithMember("member");
    const m = await localModel();
    const undeclared = await backend(null);
    const alias = await aliasOf(tenant.id, "fallback", [
      { type: "model", model: m },
      { type: "backend", backendId: undeclared.id, model: "vl" },
    ]);
    const messages = [{ role: "user" as const, content: [{ type: "text" as const, text: "look" }, { type: "image" as const, url: "https://example.invalid/x.png" }] }];
    const r = await caller.routing.dryRun({ tenantId: tenant.id, alias: alias.alias, messages });
    expect(r.chosen).toMatchObject({ kind: "backend", backendId: undeclared.id, model: "vl" });
    expect(r.skipped).toEqual([{ key: `model:${m}`, why: TEXT_ONLY }]);
    expect(r.targets.map((t) => [t.key, t.images])).toEqual([
      [`model:${m}`, false],
      [`backend:${undeclared.id}/vl`, null],
    ]);
    // text only: the local model is chosen as before
    expect((await dryRun(db(), tenant.id, { alias: alias.alias, messages: [{ role: "user", content: "look" }] })).chosen).toMatchObject({ kind: "model", model: m });

    const local = await aliasOf(tenant.id, "single", [{ type: "model", model: m }]);
    await expect(caller.routing.dryRun({ tenantId: tenant.id, alias: local.alias, messages })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});
