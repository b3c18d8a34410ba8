/**
 * SIGTERM while streams are running: every request still has its usage row
 * afterwards (the generations are aborted — each stream ends with an error event
 * and is logged as a shutting_down error with the tokens it produced — and the
 * buffered writer is flushed before the process exits).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { writeTinyModel } from "../../../scripts/tiny-gguf/make-tiny-model";
import { db } from "../../db/client";
import { CLI_ACTOR } from "../../services/audit/audit";
import { createApiKey } from "../../services/api-keys/api-keys";
import { addModel } from "../../services/models/models";
import { makeTenant, uniq } from "../../test/fixtures";
import { startV1ServerChild } from "../../test/v1-server";

it("SIGTERM during active streams leaves a usage row for every request", async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "switchyard-sigterm-")), "tiny.gguf");
  writeTinyModel(file);
  const tenant = await makeTenant();
  const model = `tiny-term-${uniq()}`;
  await addModel(db(), CLI_ACTOR, { name: model, source: file, kind: "chat", contextSize: 4096, parallel: 4, threads: 1 });
  const { key } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "term" });

  const { url, child } = await startV1ServerChild();
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));

  const ids: string[] = [];
  const streams = await Promise.all(
    [0, 1, 2].map(async (i) => {
      const res = await fetch(`${url}/api/v1/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": `term-${uniq()}-${i}` },
        body: JSON.stringify({ model, prompt: "Once upon a time", max_tokens: 4000, stream: true }),
      });
      expect(res.status).toBe(200);
      ids.push(res.headers.get("x-request-id")!);
      const reader = res.body!.getReader();
      await reader.read(); // tokens are flowing
      return reader;
    }),
  );
  // and one finished request, to prove completed ones are flushed too
  const done = await fetch(`${url}/api/v1/models`, { headers: { authorization: `Bearer ${key}`, "x-request-id": `term-models-${uniq()}` } });
  ids.push(done.headers.get("x-request-id")!);

  child.kill("SIGTERM");
  // drain what the server still sends until it closes the streams
  await Promise.all(streams.map(async (r) => { try { for (;;) if ((await r.read()).done) break; } catch { /* closed */ } }));
  expect(await exited).toBe(0);

  const rows = await db().requestLog.findMany({ where: { tenantId: tenant.id, requestId: { in: ids } } });
  expect(rows).toHaveLength(4);
  const streamsRows = rows.filter((r) => r.endpoint === "completions");
  expect(streamsRows).toHaveLength(3);
  for (const r of streamsRows) {
    expect(r).toMatchObject({ status: "error", errorCode: "shutting_down", httpStatus: 503, stream: true });
    expect(r.completionTokens).toBeGreaterThan(0);
  }
  expect(rows.find((r) => r.endpoint === "models")!.status).toBe("ok");
}, 60_000);
