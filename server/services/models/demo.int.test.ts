/**
 * What `npm run setup` registers answers chat and embeddings out of the box: the demo
 * models through the real /api/v1 server with the official `openai` SDK, on real llama.cpp.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TINY_MODEL } from "../../../scripts/tiny-gguf/make-tiny-model";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../audit/audit");
const { createApiKey } = await import("../api-keys/api-keys");
const { localPool } = await import("../../inference/engine");
const { makeTenant } = await import("../../test/fixtures");
const { startV1Server } = await import("../../test/v1-server");
const { DEMO_MODELS, registerDemoModels } = await import("./demo");

let dir: string;
let server: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-demo-"));
  server = await startV1Server();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it("registers a chat and an embedding model once, and both answer through /api/v1", async () => {
  await registerDemoModels(db(), dir);
  expect(await registerDemoModels(db(), dir)).toEqual([]); // idempotent
  const rows = await db().model.findMany({ where: { name: { in: Object.values(DEMO_MODELS) } }, select: { name: true, kind: true } });
  expect(rows.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
    { name: DEMO_MODELS.chat, kind: "chat" },
    { name: DEMO_MODELS.embedding, kind: "embedding" },
  ]);

  const tenant = await makeTenant();
  const client = new OpenAI({ baseURL: `${server.url}/api/v1`, apiKey: (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k" })).key, maxRetries: 0 });
  const e = await client.embeddings.create({ model: DEMO_MODELS.embedding, input: ["Hello", "The gateway works"] });
  expect(e.data).toHaveLength(2);
  expect(e.data[0]!.embedding).toHaveLength(TINY_MODEL.nEmbd);
  expect(e.data[0]!.embedding).not.toEqual(e.data[1]!.embedding);
  expect(e.usage.prompt_tokens).toBeGreaterThan(0);
  const chat = await client.chat.completions.create({ model: DEMO_MODELS.chat, messages: [{ role: "user", content: "Hi" }] });
  expect(chat.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
});
