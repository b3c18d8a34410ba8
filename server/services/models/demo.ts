/**
 * The models `npm run setup` registers so a fresh install answers every /api/v1 route
 * offline: the project's own tiny scripted GGUF as chat model "demo" and, from the same
 * file, embedding model "demo-embeddings" (llama.cpp embeds with any model; a model row
 * serves one kind, so the file is registered twice). Idempotent.
 */
import path from "node:path";
import { writeTinyModel } from "../../../scripts/tiny-gguf/make-tiny-model";
import type { Db } from "../../db/client";
import { CLI_ACTOR } from "../audit/audit";
import { addModel, listModels } from "./models";

export const DEMO_MODELS = { chat: "demo", embedding: "demo-embeddings" } as const;

/** Writes the GGUF under `modelsDir` and registers what is missing; returns the names it added. */
export async function registerDemoModels(db: Db, modelsDir: string): Promise<string[]> {
  const file = path.join(modelsDir, "switchyard-tiny.gguf");
  writeTinyModel(file);
  const existing = new Set((await listModels(db)).map((m) => m.name));
  const added: string[] = [];
  if (!existing.has(DEMO_MODELS.chat)) {
    await addModel(db, CLI_ACTOR, { name: DEMO_MODELS.chat, source: file, kind: "chat", contextSize: 2048, parallel: 4, threads: 1 });
    added.push(DEMO_MODELS.chat);
  }
  if (!existing.has(DEMO_MODELS.embedding)) {
    await addModel(db, CLI_ACTOR, { name: DEMO_MODELS.embedding, source: file, kind: "embedding", contextSize: 2048, threads: 1 });
    added.push(DEMO_MODELS.embedding);
  }
  return added;
}
