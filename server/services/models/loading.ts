/**
 * Loading and unloading a registered model in this server's memory (the console's
 * "load now" / "unload"), each audited. The model is loaded first (it takes seconds and
 * holds no database lock); the audit row is then written in a transaction that also
 * checks the model is still registered, so a model removed meanwhile leaves no
 * "model.load" entry behind.
 */
import type { Db } from "../../db/client";
import { AppError, NotFound } from "../../errors";
import { localPool, specOf } from "../../inference/engine";
import type { LocalModelStatus } from "../../inference/local-pool";
import { type Actor, recordAudit } from "../audit/audit";
import { isHfUri, removeModel } from "./models";

async function auditIfStillRegistered(db: Db, actor: Actor, m: { id: string; name: string }, action: "model.load" | "model.unload") {
  await db.$transaction(async (tx) => {
    // the write first: on SQLite a transaction that reads before it writes can fail with SQLITE_BUSY
    await recordAudit(tx, actor, { action, targetType: "model", targetId: m.id, data: { name: m.name } });
    if (!(await tx.model.findUnique({ where: { id: m.id }, select: { id: true } }))) throw NotFound(`Model ${m.name}`);
  });
}

/** Loads a model now instead of on its first request; its runtime state after loading. */
export async function loadModel(db: Db, actor: Actor, name: string): Promise<LocalModelStatus | null> {
  const m = await db.model.findUnique({ where: { name } });
  if (!m) throw NotFound(`Model ${name}`);
  if (isHfUri(m.source)) throw new AppError("conflict", `Model ${name} has not been downloaded yet`, { code: "model_not_downloaded" });
  const pool = localPool();
  await pool.register(specOf(m));
  await pool.load(m.name);
  await auditIfStillRegistered(db, actor, m, "model.load");
  return pool.status().find((s) => s.name === m.name) ?? null;
}

/** Frees a model's memory in this server (the next request loads it again). */
export async function unloadModel(db: Db, actor: Actor, name: string): Promise<{ name: string }> {
  const m = await db.model.findUnique({ where: { name }, select: { id: true, name: true } });
  if (!m) throw NotFound(`Model ${name}`);
  await localPool().unload(m.name);
  await auditIfStillRegistered(db, actor, m, "model.unload");
  return { name: m.name };
}

/** Unregisters a model and frees it in this server (other servers drop it when their config cache refreshes). */
export async function removeAndUnloadModel(db: Db, actor: Actor, name: string): Promise<{ name: string }> {
  await removeModel(db, actor, name);
  await localPool().unload(name);
  return { name };
}
