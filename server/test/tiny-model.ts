/**
 * Registers the project's scripted tiny GGUF as a chat model for a test (a fresh
 * file in a temp dir, 2 parallel slots, 1 thread) and returns its name. Import it
 * dynamically after setting any env the test needs, like the modules it uses.
 * `{ tools: true }` registers the tool-calling variant (TINY_TOOL_MODEL: Qwen wrapper).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeTinyModel } from "../../scripts/tiny-gguf/make-tiny-model";
import { db } from "../db/client";
import { CLI_ACTOR } from "../services/audit/audit";
import { addModel } from "../services/models/models";
import { uniq } from "./fixtures";

export async function registerTinyModel(label: string, opts: { tools?: boolean } = {}): Promise<string> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), `switchyard-${label}-`)), "tiny.gguf");
  writeTinyModel(file, opts.tools ? "tools" : "chatml");
  const name = `tiny-${label}-${uniq()}`;
  await addModel(db(), CLI_ACTOR, { name, source: file, kind: "chat", contextSize: 2048, parallel: 2, threads: 1 });
  return name;
}
