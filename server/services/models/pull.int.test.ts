/**
 * The console's download of an hf: model. There is no Hugging Face here (tests run
 * offline), so this covers what the gateway itself decides: who may start it, that
 * it runs in the background and a failure lands on the model in words, and that a
 * local model has nothing to download.
 */
import { describe, expect, it } from "vitest";
import { db } from "../../db/client";
import { uniq } from "../../test/fixtures";
import { CLI_ACTOR } from "../audit/audit";
import { addModel } from "./models";
import { pullProgress, startPull } from "./pull";

describe("startPull", () => {
  it("returns at once with the model downloading; offline, the model ends failed with the reason", async () => {
    const name = `hf-${uniq()}`;
    await addModel(db(), CLI_ACTOR, { name, source: "hf:switchyard-test/none/none.gguf" });
    expect(await startPull(db(), CLI_ACTOR, name, { stallMs: 400 })).toEqual({ name, state: "downloading" });
    expect((await db().model.findUniqueOrThrow({ where: { name } })).state).toBe("downloading");
    expect(pullProgress(name)).not.toBeNull();
    // a second click while it runs starts nothing new
    expect(await startPull(db(), CLI_ACTOR, name)).toEqual({ name, state: "downloading" });
    // Offline nothing arrives, so the stall guard ends it.
    await expect
      .poll(async () => (await db().model.findUnique({ where: { name } }))?.state, { timeout: 20_000, interval: 100 })
      .toBe("failed");
    const m = await db().model.findUniqueOrThrow({ where: { name } });
    expect(m.lastError).toMatch(/^Download failed: /);
    expect(m.source).toBe("hf:switchyard-test/none/none.gguf");
    expect(pullProgress(name)).toBeNull();
    expect(await db().auditLog.count({ where: { action: "model.pull", targetId: m.id } })).toBe(1);
  });

  it("refuses a local model and an unknown one", async () => {
    await expect(startPull(db(), CLI_ACTOR, `nope-${uniq()}`)).rejects.toMatchObject({ kind: "not_found" });
    const local = await db().model.create({ data: { id: `mdl_${uniq()}`, name: `local-${uniq()}`, source: "/models/x.gguf" } });
    await expect(startPull(db(), CLI_ACTOR, local.name)).rejects.toMatchObject({ kind: "conflict", code: "model_not_remote" });
  });
});
