/**
 * The Responses API (POST /api/v1/responses, GET/DELETE …/{id}, …/{id}/input_items) to a
 * remote backend, over real HTTP with the official `openai` SDK. The upstream is the fake
 * OpenAI-compatible server on loopback; it scripts text, reasoning and tool-call chunks
 * (arguments in fragments and whole), and dies or hangs mid-stream. Covers the event
 * order and numbering, the tool loop (function_call_output, previous_response_id),
 * storage per tenant (GET, DELETE, cross-tenant 404, store: false, expiry and purge),
 * usage rows (endpoint, tokens of a cut stream, cancelled) and bad input.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../../services/audit/audit");
const { createBackend } = await import("../../services/backends/backends");
const { createPolicy } = await import("../../services/routing/policies");
const { purgeExpiredResponses } = await import("../../services/responses/responses");
const { uniq } = await import("../../test/fixtures");
const { startV1Server } = await import("../../test/v1-server");
const { chunkDelta: delta, startFakeUpstream, toolFragment: frag } = await import("../../test/fake-upstream");
const { aliasOnUpstreams, usageRowOf, v1Tenant } = await import("../../test/v1-harness");

type Fake = Awaited<ReturnType<typeof startFakeUpstream>>;
type Ev = Record<string, unknown> & { type: string; sequence_number: number };

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string };
let other: { id: string };
let key: string;
let otherKey: string;
let up: Fake;
let alias: string;
let client: OpenAI;
let otherClient: OpenAI;
const fakes: Fake[] = [];

const WEATHER = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};
const TIME = { type: "function" as const, name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } } }, strict: false };


/** Reasoning, text, a call whose arguments come in fragments (the first before its id and name), a call that comes whole. */
const MIXED: object[] = [
  delta({ role: "assistant", content: null }),
  delta({ reasoning_content: "The user wants" }),
  delta({ reasoning_content: " weather and time." }),
  delta({ content: "Checking" }),
  delta({ content: " now." }),
  delta({ tool_calls: [frag(0, { arguments: '{"ci' })] }),
  delta({ tool_calls: [frag(0, { id: "call_w8Q1", name: "get_weather" })] }),
  delta({ tool_calls: [frag(0, { arguments: 'ty": "Par' })] }),
  delta({ tool_calls: [frag(0, { arguments: 'is"}' })] }),
  delta({ tool_calls: [frag(1, { id: "call_t1Me", name: "get_time", arguments: '{"tz": "Europe/Paris"}' })] }),
  delta({}, "tool_calls"),
  { choices: [], usage: { prompt_tokens: 40, completion_tokens: 22, total_tokens: 62, prompt_tokens_details: { cached_tokens: 32 } } },
];

const ONE_CALL: object[] = [
  delta({ role: "assistant", content: null }),
  delta({ tool_calls: [frag(0, { id: "call_only", name: "get_weather", arguments: '{"city": "Paris"}' })] }),
  delta({}, "tool_calls"),
  { choices: [], usage: { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39 } },
];

async function fake() {
  const f = await startFakeUpstream({ models: ["up-model"] });
  fakes.push(f);
  return f;
}

const aliasFor = (f: Fake, tenantId: string) => aliasOnUpstreams(tenantId, "resp", [f.url]);

const logRow = (requestId: string) => usageRowOf(tenant.id, requestId);

const post = (body: object, k = key, signal?: AbortSignal) =>
  fetch(`${server.url}/api/v1/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });

/** Raw SSE events: the `event:` name must equal the data's type. */
async function events(res: Response): Promise<Ev[]> {
  const out: Ev[] = [];
  for (const block of (await res.text()).split("\n\n")) {
    if (!block.trim()) continue;
    const name = /^event: (.+)$/m.exec(block)?.[1];
    const data = JSON.parse(/^data: (.+)$/m.exec(block)![1]!) as Ev;
    expect(name).toBe(data.type);
    out.push(data);
  }
  return out;
}

/** Sequence numbers 0, 1, 2…; every index refers to an item/part that was added and is not done yet. */
function checkConsistency(evs: Ev[]) {
  expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
  const items = new Map<number, { id: string; done: boolean; parts: Map<number, boolean> }>();
  for (const e of evs) {
    const at = e.output_index as number | undefined;
    if (e.type === "response.output_item.added") {
      expect(at).toBe(items.size); // items are numbered in the order they open
      items.set(at!, { id: (e.item as { id: string }).id, done: false, parts: new Map() });
      continue;
    }
    if (at === undefined) continue;
    const item = items.get(at)!;
    expect(item, `${e.type} for an item never added`).toBeDefined();
    expect(item.done, `${e.type} after its item was done`).toBe(false);
    if ("item_id" in e) expect(e.item_id).toBe(item.id);
    if (e.type === "response.output_item.done") {
      expect([...item.parts.values()].every(Boolean)).toBe(true);
      item.done = true;
    } else if (e.type === "response.content_part.added") {
      expect(e.content_index).toBe(item.parts.size);
      item.parts.set(e.content_index as number, false);
    } else if ("content_index" in e) {
      expect(item.parts.get(e.content_index as number), `${e.type} for a part not open`).toBe(false);
      if (e.type === "response.content_part.done") item.parts.set(e.content_index as number, true);
    }
  }
  expect([...items.values()].every((i) => i.done)).toBe(true);
}

beforeAll(async () => {
  server = await startV1Server();
  ({ tenant, key, client } = await v1Tenant(server.url));
  ({ tenant: other, key: otherKey, client: otherClient } = await v1Tenant(server.url));
  up = await fake();
  alias = await aliasFor(up, tenant.id);
}, 120_000);

afterAll(async () => {
  await server?.close();
  for (const f of fakes) await f.close();
});

describe("Responses API on a remote backend", () => {
  it("create, not streamed: a response object the SDK reads; the usage row names the endpoint", async () => {
    up.behave({ kind: "reply" });
    const r = await client.responses.create({ model: alias, input: "Say hello", instructions: "Be brief", metadata: { run: "1" } }).withResponse();
    const res = r.data;
    expect(res.id).toMatch(/^resp_/);
    expect(res.object).toBe("response");
    expect(res.status).toBe("completed");
    expect(res.output_text).toBe("Hello from upstream.");
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Hello from upstream." }] });
    expect(res.usage).toEqual({ input_tokens: 7, input_tokens_details: { cached_tokens: 0 }, output_tokens: 4, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 11 });
    expect(res.metadata).toEqual({ run: "1" });
    expect(res.instructions).toBe("Be brief");
    // instructions are the system message, the string input the user's
    expect(up.requests.at(-1)!.body.messages).toEqual([{ role: "system", content: "Be brief" }, { role: "user", content: "Say hello" }]);
    const row = await logRow(r.response.headers.get("x-request-id")!);
    expect(row).toMatchObject({ endpoint: "responses", status: "ok", modelRequested: alias, promptTokens: 7, completionTokens: 4, stream: false });
  });

  it("stream: every event type in order, numbered from 0; the SDK's finalResponse() equals the stored one", async () => {
    up.behave({ kind: "chunks", chunks: MIXED });
    const evs = await events(await post({ model: alias, input: "Weather and time in Paris?", tools: [WEATHER, TIME], stream: true }));
    expect(evs.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added", // 0: reasoning
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added", // 1: message
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added", // 2: get_weather, once its name is known: the early fragment comes with it
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.output_item.added", // 3: get_time, whole in one fragment
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    checkConsistency(evs);
    const byType = (t: string) => evs.filter((e) => e.type === t);
    expect(byType("response.function_call_arguments.delta").map((e) => [e.output_index, e.delta])).toEqual([
      [2, '{"ci'],
      [2, 'ty": "Par'],
      [2, 'is"}'],
      [3, '{"tz": "Europe/Paris"}'],
    ]);
    expect(byType("response.function_call_arguments.done").map((e) => [e.output_index, e.arguments])).toEqual([
      [2, '{"city": "Paris"}'],
      [3, '{"tz": "Europe/Paris"}'],
    ]);
    const created = byType("response.created")[0]!.response as { status: string; output: unknown[] };
    expect(created).toMatchObject({ status: "in_progress", output: [] });
    const done = byType("response.completed")[0]!.response as OpenAI.Responses.Response;
    expect(done.status).toBe("completed");
    expect(done.usage).toMatchObject({ input_tokens: 40, output_tokens: 22, input_tokens_details: { cached_tokens: 32 } });
    expect(done.output.map((o) => o.type)).toEqual(["reasoning", "message", "function_call", "function_call"]);
    expect(done.output[0]).toMatchObject({ content: [{ type: "reasoning_text", text: "The user wants weather and time." }] });
    expect(done.output[2]).toMatchObject({ call_id: "call_w8Q1", name: "get_weather", arguments: '{"city": "Paris"}', status: "completed" });
    expect(done.output[3]).toMatchObject({ call_id: "call_t1Me", name: "get_time", arguments: '{"tz": "Europe/Paris"}' });
    // each output_item.done carries the finished item exactly as the final response has it
    expect(byType("response.output_item.done").map((e) => e.item)).toEqual(
      [0, 1, 2, 3].map((i) => done.output[i]),
    );
    const { output_text: _sdkOnly, ...stored } = await client.responses.retrieve(done.id); // output_text is the SDK's convenience
    expect(stored).toEqual(done);

    up.behave({ kind: "chunks", chunks: MIXED });
    const viaSdk = await client.responses.stream({ model: alias, input: "Weather and time in Paris?", tools: [WEATHER, TIME] }).finalResponse();
    expect(viaSdk.output_text).toBe("Checking now.");
    expect(viaSdk.output.map((o) => (o.type === "function_call" ? [o.name, o.call_id, o.arguments] : o.type))).toEqual([
      "reasoning",
      "message",
      ["get_weather", "call_w8Q1", '{"city": "Paris"}'],
      ["get_time", "call_t1Me", '{"tz": "Europe/Paris"}'],
    ]);
  });

  it("a tool loop: function_call → function_call_output, by resending the items and by previous_response_id", async () => {
    up.behave({ kind: "chunks", chunks: ONE_CALL });
    const first = await client.responses.create({ model: alias, input: "Weather in Paris?", tools: [WEATHER], tool_choice: "required", stream: true });
    let firstResponse: OpenAI.Responses.Response | null = null;
    for await (const ev of first) if (ev.type === "response.completed") firstResponse = ev.response;
    const call = firstResponse!.output.find((o) => o.type === "function_call")!;
    expect(call).toMatchObject({ type: "function_call", call_id: "call_only", name: "get_weather", arguments: '{"city": "Paris"}' });
    expect(up.requests.at(-1)!.body.tool_choice).toBe("required");
    expect(up.requests.at(-1)!.body.tools).toEqual([{ type: "function", function: { name: "get_weather", description: WEATHER.description, parameters: WEATHER.parameters, strict: false } }]);

    const expected = [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_only", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }] },
      { role: "tool", tool_call_id: "call_only", content: '{"temp": 21}' },
    ];
    up.behave({ kind: "reply", tokens: ["21", " degrees."] });
    const resent = await client.responses.create({
      model: alias,
      tools: [WEATHER],
      input: [{ role: "user", content: "Weather in Paris?" }, ...firstResponse!.output, { type: "function_call_output", call_id: "call_only", output: '{"temp": 21}' }] as OpenAI.Responses.ResponseInput,
    });
    expect(resent.output_text).toBe("21 degrees.");
    expect(up.requests.at(-1)!.body.messages).toEqual(expected);

    up.behave({ kind: "reply", tokens: ["21", " degrees."] });
    const continued = await client.responses.create({
      model: alias,
      tools: [WEATHER],
      previous_response_id: firstResponse!.id,
      input: [{ type: "function_call_output", call_id: "call_only", output: '{"temp": 21}' }],
    });
    expect(continued.output_text).toBe("21 degrees.");
    expect(continued.previous_response_id).toBe(firstResponse!.id);
    expect(up.requests.at(-1)!.body.messages).toEqual(expected);

    // the chain goes on: the continued response's stored input holds all of it
    up.behave({ kind: "reply", tokens: ["OK"] });
    await client.responses.create({ model: alias, previous_response_id: continued.id, input: "Thanks" });
    expect(up.requests.at(-1)!.body.messages).toEqual([...expected, { role: "assistant", content: "21 degrees." }, { role: "user", content: "Thanks" }]);
    const items = await client.responses.inputItems.list(continued.id, { order: "asc" });
    expect(items.data.map((i) => i.type)).toEqual(["message", "function_call", "function_call_output"]);
    expect(items.data.every((i) => typeof i.id === "string" && i.id.length > 0)).toBe(true);
  });

  it("GET and DELETE a stored response; store: false keeps nothing", async () => {
    up.behave({ kind: "reply" });
    const res = await client.responses.create({ model: alias, input: "hi" });
    expect(await client.responses.retrieve(res.id)).toEqual(res);
    const r = await fetch(`${server.url}/api/v1/responses/${res.id}`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
    expect(await r.json()).toEqual({ id: res.id, object: "response.deleted", deleted: true });
    expect((await logRow(r.headers.get("x-request-id")!)).endpoint).toBe("responses.delete");
    await expect(client.responses.retrieve(res.id)).rejects.toMatchObject({ status: 404, error: { type: "invalid_request_error" } });
    await expect(client.responses.delete(res.id)).rejects.toMatchObject({ status: 404 });

    up.behave({ kind: "reply" });
    const unstored = await client.responses.create({ model: alias, input: "hi", store: false });
    expect((unstored as unknown as { store: boolean }).store).toBe(false);
    await expect(client.responses.retrieve(unstored.id)).rejects.toMatchObject({ status: 404 });
    expect(await db().storedResponse.count({ where: { tenantId: tenant.id, id: unstored.id } })).toBe(0);
  });

  it("another tenant's response is not found: GET, DELETE and previous_response_id are 404, and it survives", async () => {
    up.behave({ kind: "reply" });
    const mine = await client.responses.create({ model: alias, input: "secret" });
    await expect(otherClient.responses.retrieve(mine.id)).rejects.toMatchObject({ status: 404, error: { type: "invalid_request_error", code: "response_not_found" } });
    await expect(otherClient.responses.delete(mine.id)).rejects.toMatchObject({ status: 404 });
    await expect(otherClient.responses.inputItems.list(mine.id)).rejects.toMatchObject({ status: 404 });
    const otherAlias = await aliasFor(up, other.id);
    const r = await post({ model: otherAlias, input: "more", previous_response_id: mine.id }, otherKey);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      error: { message: `Previous response with id '${mine.id}' not found.`, type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found" },
    });
    expect(await client.responses.retrieve(mine.id)).toEqual(mine);
  });

  it("an expired response is gone before the purge, and the purge removes only expired ones", async () => {
    up.behave({ kind: "reply" });
    const old = await client.responses.create({ model: alias, input: "old" });
    const fresh = await client.responses.create({ model: alias, input: "fresh" });
    await db().storedResponse.update({ where: { id: old.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expect(client.responses.retrieve(old.id)).rejects.toMatchObject({ status: 404 });
    expect((await post({ model: alias, input: "x", previous_response_id: old.id })).status).toBe(404);
    expect(await purgeExpiredResponses(db())).toBeGreaterThanOrEqual(1);
    expect(await db().storedResponse.findUnique({ where: { id: old.id } })).toBeNull();
    expect(await client.responses.retrieve(fresh.id)).toEqual(fresh);
    const row = await db().storedResponse.findUniqueOrThrow({ where: { id: fresh.id } });
    const ttl = row.expiresAt.getTime() - row.createdAt.getTime();
    expect(ttl).toBe(30 * 86_400 * 1000); // RESPONSES_STORE_TTL_SECONDS' default
  });

  it("text.format json_schema reaches the upstream as response_format; the max_output_tokens cut is incomplete", async () => {
    up.behave({ kind: "chunks", chunks: [delta({ content: '{"a":' }), delta({}, "length")] });
    const schema = { type: "object", properties: { a: { type: "number" } }, required: ["a"] };
    const evs = await events(await post({ model: alias, input: "json", stream: true, max_output_tokens: 3, text: { format: { type: "json_schema", name: "thing", schema, strict: true } } }));
    expect(up.requests.at(-1)!.body).toMatchObject({ max_tokens: 3, response_format: { type: "json_schema", json_schema: { name: "thing", schema, strict: true } } });
    const last = evs.at(-1)!;
    expect(last.type).toBe("response.incomplete");
    expect(last.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [{ type: "message", status: "incomplete" }] });
    checkConsistency(evs);
  });
});

describe("Responses through the core's fallback", () => {
  it("a target that fails before its first output falls back: one clean stream from the next target", async () => {
    const broken = await fake();
    const good = await fake();
    broken.behave({ kind: "status", status: 502 });
    good.behave({ kind: "chunks", chunks: ONE_CALL });
    const backends = [];
    for (const f of [broken, good]) backends.push(await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: f.url, discover: false, models: ["up-model"], public: true }));
    const p = await createPolicy(db(), CLI_ACTOR, tenant.id, {
      alias: `resp-fb-${uniq()}`,
      strategy: "fallback",
      targets: backends.map((b) => ({ type: "backend", backendId: b.id, model: "up-model" })) as never,
    });
    const res = await post({ model: p.alias, input: "Weather?", tools: [WEATHER], stream: true });
    const evs = await events(res);
    checkConsistency(evs);
    expect(evs.at(-1)!.type).toBe("response.completed");
    expect(evs.filter((e) => e.type === "response.output_item.added")).toHaveLength(1);
    expect(broken.requests).toHaveLength(1);
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ endpoint: "responses", status: "ok", policyId: p.id, toolCalls: 1 });
    expect(JSON.parse(row.attempts!)).toHaveLength(2);
  });
});

describe("Responses streams that end early", () => {
  it("an upstream that dies mid-stream: response.failed last, with the output so far; the row bills the tokens streamed", async () => {
    const dying = await fake();
    const chunks = [delta({ content: "One" }), delta({ content: " two" }), delta({ content: " three" }), delta({ content: " four" }), delta({}, "stop")];
    dying.behave({ kind: "chunks", chunks, dieAfter: 3 });
    const a = await aliasFor(dying, tenant.id);
    const res = await post({ model: a, input: "count", stream: true });
    expect(res.status).toBe(200);
    const evs = await events(res);
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    expect(evs.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta)).toEqual(["One", " two", " three"]);
    const last = evs.at(-1)!;
    expect(last.type).toBe("response.failed");
    expect(evs.filter((e) => e.type === "response.failed" || e.type === "response.completed")).toHaveLength(1);
    expect(last.response).toMatchObject({ status: "failed", error: { code: "server_error" }, output: [{ type: "message", content: [{ type: "output_text", text: "One two three" }] }] });
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ endpoint: "responses", status: "error", stream: true, completionTokens: 3 });
    // the SDK sees the same end (a fresh upstream: the dead one is circuit-broken now)
    const dying2 = await fake();
    dying2.behave({ kind: "chunks", chunks, dieAfter: 3 });
    const final = await client.responses.stream({ model: await aliasFor(dying2, tenant.id), input: "count" }).finalResponse();
    expect(final.status).toBe("failed");
    expect(final.output_text).toBe("One two three");
  });

  it("a client that disconnects cancels the generation: the row says cancelled", async () => {
    const slow = await fake();
    slow.behave({ kind: "hang-after-headers" });
    const a = await aliasFor(slow, tenant.id);
    const ac = new AbortController();
    const res = await post({ model: a, input: "wait", stream: true }, key, ac.signal);
    const requestId = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("event: response.created");
    ac.abort();
    await expect.poll(async () => (await logRow(requestId).catch(() => null))?.status, { timeout: 20_000 }).toBe("cancelled");
  });
});

describe("bad input to /api/v1/responses", () => {
  const bad = async (body: object, status: number, param: string | null, message: RegExp) => {
    const r = await post({ model: alias, input: "x", ...body });
    expect(r.status).toBe(status);
    const e = ((await r.json()) as { error: { type: string; param: string | null; message: string; code: string } }).error;
    expect(e.type).toBe("invalid_request_error");
    expect(e.param).toBe(param);
    expect(e.message).toMatch(message);
    expect(e.message).not.toMatch(/\n\s+at /); // never a stack trace
  };

  it("answers in OpenAI's error shape, naming what is wrong", async () => {
    const before = up.requests.length;
    await bad({ input: [{ type: "computer_call_output", call_id: "c" }] }, 400, "input.0.type", /input item type 'computer_call_output' is not supported/);
    await bad({ input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, 400, "input.0.content.0.type", /content part type 'input_file' is not supported/);
    await bad({ tools: [{ type: "web_search" }] }, 400, "tools.0.type", /built-in tool 'web_search' is not supported/);
    await bad({ tools: [{ type: "file_search", vector_store_ids: ["v"] }] }, 400, "tools.0.type", /built-in tool 'file_search'/);
    await bad({ background: true }, 400, "background", /background is not supported/);
    await bad({ tools: [WEATHER], tool_choice: { type: "function", name: "nope" } }, 400, "tool_choice", /not in tools/);
    await bad({ input: [{ type: "function_call_output", output: "1" }] }, 400, "input.0.call_id", /call_id/);
    await bad({ previous_response_id: "resp_doesnotexist" }, 404, "previous_response_id", /Previous response with id 'resp_doesnotexist' not found/);
    await bad({ text: { format: { type: "grammar" } } }, 400, "text.format.type", /json_object or json_schema/);
    expect(up.requests.length).toBe(before); // nothing reached the model
    const replay = await fetch(`${server.url}/api/v1/responses/resp_x?stream=true`, { headers: { authorization: `Bearer ${key}` } });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: { param: string } }).error.param).toBe("stream");
    const unauth = await fetch(`${server.url}/api/v1/responses/resp_x`, {});
    expect(unauth.status).toBe(401);
    expect(((await unauth.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
  });
});
