import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "./fixtures";
import { E2E } from "./env";

// The public API under the base path, served by `next start`, with the demo model set-up registered.
const key = () => readFileSync(path.join(E2E.root, ".tmp/e2e/api-key"), "utf8").trim();
const api = (p: string) => `${E2E.origin}${E2E.basePath}/api/v1/${p}`;
const DEMO_REPLY = "Hello from Switchyard. The gateway works.";

test("chat completions stream over SSE under the base path", async () => {
  const res = await fetch(api("chat/completions"), {
    method: "POST",
    headers: { authorization: `Bearer ${key()}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "Hi" }], stream: true }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  expect(res.headers.get("x-request-id")).toBeTruthy();
  const events = (await res.text()).split("\n\n").filter(Boolean).map((b) => b.replace(/^data: /, ""));
  expect(events[events.length - 1]).toBe("[DONE]");
  const text = events
    .slice(0, -1)
    .map((e) => JSON.parse(e) as { choices: { delta: { content?: string } }[] })
    .map((c) => c.choices[0]?.delta.content ?? "")
    .join("");
  expect(text).toBe(DEMO_REPLY);
});

test("embeddings work out of the box: set-up registered demo-embeddings", async () => {
  const res = await fetch(api("embeddings"), {
    method: "POST",
    headers: { authorization: `Bearer ${key()}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "demo-embeddings", input: ["Hello", "The gateway works"] }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { embedding: number[] }[] };
  expect(body.data).toHaveLength(2);
  expect(body.data[0]!.embedding.length).toBeGreaterThan(0);
});

test("X-API-Key works, models are listed, and errors use the OpenAI envelope", async () => {
  const models = await fetch(api("models"), { headers: { "x-api-key": key() } });
  expect(models.status).toBe(200);
  expect((await models.json()).data.map((m: { id: string }) => m.id)).toContain("demo");
  const nonStream = await fetch(api("chat/completions"), {
    method: "POST",
    headers: { "x-api-key": key(), "content-type": "application/json" },
    body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "Hi" }] }),
  });
  expect((await nonStream.json()).choices[0].message.content).toBe(DEMO_REPLY);
  const unauth = await fetch(api("models"));
  expect(unauth.status).toBe(401);
  expect((await unauth.json()).error.code).toBe("invalid_api_key");
  const missing = await fetch(api("chat/completions"), {
    method: "POST",
    headers: { authorization: `Bearer ${key()}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "nope", messages: [{ role: "user", content: "Hi" }] }),
  });
  expect(missing.status).toBe(404);
  expect((await missing.json()).error).toMatchObject({ code: "model_not_found", param: "model" });
});

test("a forced tool call on the local demo model under next start: a call whose arguments parse", async () => {
  const res = await fetch(api("chat/completions"), {
    method: "POST",
    headers: { authorization: `Bearer ${key()}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "demo",
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }],
      tool_choice: "required",
    }),
  });
  expect(res.status).toBe(200);
  const choice = (await res.json()).choices[0] as { finish_reason: string; message: { tool_calls: { id: string; function: { name: string; arguments: string } }[] } };
  expect(choice.finish_reason).toBe("tool_calls");
  expect(choice.message.tool_calls[0]!.function.name).toBe("get_weather");
  expect(typeof (JSON.parse(choice.message.tool_calls[0]!.function.arguments) as { city: unknown }).city).toBe("string");
});

// Key security under a real `next start` (and nginx): the base path is signed as the client
// sent it, and allowlists see the socket address (or nginx's), never a forged X-Forwarded-For.
test("signed requests and IP allowlists under the base path", async () => {
  const { runCli } = await import("../server/test/cli");
  const { signatureHeader } = await import("../server/auth/request-signing");
  const cli = async (...args: string[]) => {
    const r = await runCli([...args, "--json"], { cwd: E2E.root, env: E2E.serverEnv });
    if (r.code !== 0) throw new Error(`cli ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const created = await cli("key", "create", "--tenant", "default", "--name", `e2e signed ${Date.now()}`);
  const signed = created.key as string;
  const { secret } = (await cli("key", "signing", "--tenant", "default", "--id", created.id as string, "--on")) as { secret: string };
  const pathname = `${E2E.basePath}/api/v1/models`;
  const t = Math.floor(Date.now() / 1000);
  const header = signatureHeader(secret, t, "GET", pathname, "");
  const get = (headers: Record<string, string>) => fetch(`${E2E.origin}${pathname}`, { headers: { authorization: `Bearer ${signed}`, ...headers } });
  expect((await get({ "x-switchyard-signature": header })).status).toBe(200);
  const replayed = await get({ "x-switchyard-signature": header });
  expect([replayed.status, (await replayed.json()).error.code]).toEqual([401, "signature_replayed"]);
  const unsigned = await get({});
  expect((await unsigned.json()).error.code).toBe("signature_required");

  const limited = await cli("key", "create", "--tenant", "default", "--name", `e2e ip ${Date.now()}`);
  const limitedKey = limited.key as string;
  const call = (headers: Record<string, string> = {}) =>
    fetch(api("models"), { headers: { authorization: `Bearer ${limitedKey}`, ...headers } });
  await cli("key", "allowlist", "--tenant", "default", "--id", limited.id as string, "--set", "10.0.0.0/8");
  const denied = await call({ "x-forwarded-for": "10.1.2.3" });
  expect([denied.status, (await denied.json()).error.code]).toEqual([403, "ip_not_allowed"]);
  await cli("key", "allowlist", "--tenant", "default", "--id", limited.id as string, "--set", "127.0.0.1,::1");
  // fetch may reuse a keep-alive socket the server closed while the CLI ran ("other side
  // closed"): a client-side artefact, polled past like a not-yet-200.
  await expect
    .poll(async () => (await call({ "x-forwarded-for": "10.1.2.3" }).catch((e: Error) => ({ status: `fetch: ${e.message}` }))).status, { timeout: 5000 })
    .toBe(200);
});
