/**
 * The Anthropic Messages API through /api/v1/messages to a REMOTE backend, over real
 * HTTP with the official `@anthropic-ai/sdk` (only baseURL and apiKey set). The
 * upstream is the fake OpenAI-compatible server on loopback, scripted to stream text
 * and tool calls the awkward ways real servers do (arguments in fragments, arguments
 * before the name, a call that arrives whole, a stream that dies). The raw SSE is
 * checked against Anthropic's event grammar; errors against its error shape.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const { db } = await import("../../../db/client");
const { CLI_ACTOR } = await import("../../../services/audit/audit");
const { createApiKey } = await import("../../../services/api-keys/api-keys");
const { setKeyLimits } = await import("../../../services/limits/limits");
const sec = await import("../../../services/api-keys/security");
const { signatureHeader } = await import("../../../auth/request-signing");
const { uniq } = await import("../../../test/fixtures");
const { startV1Server } = await import("../../../test/v1-server");
const { chunkDelta: delta, startFakeUpstream, toolFragment: frag } = await import("../../../test/fake-upstream");
const { aliasOnUpstreams, usageRowOf, v1Tenant } = await import("../../../test/v1-harness");

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string };
let key: string;
let up: Awaited<ReturnType<typeof startFakeUpstream>>;
let alias: string;
let client: Anthropic;
/** an alias onto a backend of its own, for the test whose upstream dies (a dying backend is circuit-broken) */
let cut: Awaited<ReturnType<typeof startFakeUpstream>>;
let cutAlias: string;

const WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather in a city",
  input_schema: { type: "object", properties: { location: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["location"] },
};
const TIME: Anthropic.Tool = { name: "get_time", input_schema: { type: "object", properties: { tz: { type: "string" } } } };
const SEARCH: Anthropic.Tool = { name: "search", input_schema: { type: "object", properties: { q: { type: "string" } } } };


/** Text, then three calls: fragments split mid-string, one call's end and the next's start in one chunk, arguments before id and name. */
const TEXT_AND_CALLS: object[] = [
  delta({ role: "assistant", content: "" }),
  delta({ content: "Let me" }),
  delta({ content: " check." }),
  delta({ tool_calls: [frag(0, { id: "call_w8Q1", name: "get_weather", arguments: "" })] }),
  delta({ tool_calls: [frag(0, { arguments: '{"loc' })] }),
  delta({ tool_calls: [frag(0, { arguments: 'ation": "Par' })] }),
  delta({ tool_calls: [frag(0, { arguments: 'is, \\"Île\\" ✓", "unit": "c"}' })] }),
  delta({ tool_calls: [frag(1, { id: "call_t1Me", name: "get_time", arguments: '{"tz":' })] }),
  delta({ tool_calls: [frag(1, { arguments: ' "Europe/Paris"}' }), frag(2, { arguments: '{"q": ' })] }),
  delta({ tool_calls: [frag(2, { id: "call_s3aR", name: "search" })] }),
  delta({ tool_calls: [frag(2, { arguments: '"gateways \\u2014 tools"}' })] }),
  delta({}, "tool_calls"),
  { choices: [], usage: { prompt_tokens: 91, completion_tokens: 57, total_tokens: 148, prompt_tokens_details: { cached_tokens: 64 } } },
];

/** One call whose arguments arrive whole with its id and name, and one with no arguments at all. */
const WHOLE_CALLS: object[] = [
  delta({ role: "assistant", content: null }),
  delta({ tool_calls: [frag(0, { id: "call_A", name: "get_weather", arguments: '{"location":"Oslo","unit":"c"}' })] }),
  delta({ tool_calls: [frag(1, { id: "call_B", name: "get_time" })] }),
  delta({}, "tool_calls"),
  { choices: [], usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 } },
];

interface Sse {
  event: string;
  data: Record<string, unknown> & { type: string; index?: number };
}

async function post(path: string, body: object, headers: Record<string, string> = { "x-api-key": key }) {
  return fetch(`${server.url}/api/v1/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
    body: JSON.stringify(body),
  });
}

function parseSse(text: string): Sse[] {
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((b) => {
      const event = /^event: (.*)$/m.exec(b)?.[1] ?? "";
      const data = JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as Sse["data"];
      return { event, data };
    });
}

/**
 * Anthropic's stream grammar: message_start, then blocks one at a time with indexes 0, 1, 2…
 * (a delta only for the open block, of the block's kind), message_delta, message_stop;
 * pings anywhere after message_start; every event named as its data's type. Returns the blocks.
 */
function checkGrammar(events: Sse[]) {
  for (const e of events) expect(e.event).toBe(e.data.type);
  expect(events[0]!.event).toBe("message_start");
  expect(events[1]!.event).toBe("ping");
  const body = events.filter((e) => e.event !== "ping");
  expect(body.slice(-2).map((e) => e.event)).toEqual(["message_delta", "message_stop"]);
  const blocks: { type: string; deltas: Record<string, unknown>[] }[] = [];
  let open: number | null = null;
  for (const e of body.slice(1, -2)) {
    if (e.event === "content_block_start") {
      expect(open).toBeNull();
      expect(e.data.index).toBe(blocks.length);
      open = e.data.index!;
      blocks.push({ type: (e.data.content_block as { type: string }).type, deltas: [] });
    } else if (e.event === "content_block_delta") {
      expect(e.data.index).toBe(open);
      const d = e.data.delta as { type: string };
      const kind = { text: "text_delta", tool_use: "input_json_delta", thinking: "thinking_delta" }[blocks[open!]!.type];
      expect(d.type).toBe(kind);
      blocks[open!]!.deltas.push(d);
    } else if (e.event === "content_block_stop") {
      expect(e.data.index).toBe(open);
      open = null;
    } else {
      throw new Error(`unexpected event ${e.event} between message_start and message_delta`);
    }
  }
  expect(open).toBeNull();
  return blocks;
}

const logRow = (requestId: string) => usageRowOf(tenant.id, requestId);

const lastRequest = () => up.requests[up.requests.length - 1]!.body;


beforeAll(async () => {
  server = await startV1Server();
  ({ tenant, key } = await v1Tenant(server.url));
  up = await startFakeUpstream({ models: ["up-model"] });
  cut = await startFakeUpstream({ models: ["up-model"] });
  // what an admin does for Claude Code: its model names are aliases onto the tenant's targets
  alias = await aliasOnUpstreams(tenant.id, "claude-sonnet-4-5", [up.url]);
  cutAlias = await aliasOnUpstreams(tenant.id, "claude-haiku-4-5", [cut.url]);
  client = new Anthropic({ baseURL: `${server.url}/api`, apiKey: key, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await up?.close();
  await cut?.close();
});

describe("Anthropic Messages API to a remote backend", () => {
  it("messages.create: a message in Anthropic's shape, the request mapped to the upstream's", async () => {
    up.behave({ kind: "reply" });
    const msg = await client.messages.create({
      model: alias,
      max_tokens: 64,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "Hello?" }],
      stop_sequences: ["\n\nHuman:"],
      // sampling fields older clients still send (no longer in the SDK's types)
      ...{ temperature: 0.5, top_k: 40 },
      metadata: { user_id: "u-42" },
    });
    expect(msg).toMatchObject({
      type: "message",
      role: "assistant",
      model: alias,
      content: [{ type: "text", text: "Hello from upstream." }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 7, output_tokens: 4 },
    });
    expect(msg.id).toMatch(/^msg_/);
    expect(lastRequest()).toMatchObject({
      model: "up-model",
      max_tokens: 64,
      temperature: 0.5,
      top_k: 40,
      user: "u-42",
      stop: ["\n\nHuman:"],
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hello?" },
      ],
    });
  });

  it("messages.stream → finalMessage: text, then tool_use blocks with parsed input, from fragments in any order", async () => {
    up.behave({ kind: "chunks", chunks: TEXT_AND_CALLS });
    const final = await client.messages
      .stream({ model: alias, max_tokens: 256, tools: [WEATHER, TIME, SEARCH], messages: [{ role: "user", content: "Weather and time in Paris, and search" }] })
      .finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content.map((b) => (b.type === "text" ? ["text", b.text] : b.type === "tool_use" ? [b.id, b.name, b.input] : [b.type]))).toEqual([
      ["text", "Let me check."],
      ["toolu_w8Q1", "get_weather", { location: 'Paris, "Île" ✓', unit: "c" }],
      ["toolu_t1Me", "get_time", { tz: "Europe/Paris" }],
      ["toolu_s3aR", "search", { q: "gateways — tools" }],
    ]);
    // Anthropic's input_tokens exclude the cached part, which is reported beside it
    expect(final.usage).toMatchObject({ input_tokens: 27, cache_read_input_tokens: 64, output_tokens: 57 });
    // the same answer, whole
    up.behave({ kind: "chunks", chunks: TEXT_AND_CALLS });
    const whole = await client.messages.create({ model: alias, max_tokens: 256, tools: [WEATHER, TIME, SEARCH], messages: [{ role: "user", content: "Weather and time in Paris, and search" }] });
    expect(whole.content).toEqual(final.content);
    expect(whole.stop_reason).toBe("tool_use");
  });

  it("the raw stream follows Anthropic's event grammar, and the usage row records the endpoint", async () => {
    up.behave({ kind: "chunks", chunks: TEXT_AND_CALLS });
    const res = await post("messages", { model: alias, max_tokens: 256, stream: true, tools: [WEATHER, TIME, SEARCH], messages: [{ role: "user", content: "x" }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    const blocks = checkGrammar(events);
    expect(blocks.map((b) => b.type)).toEqual(["text", "tool_use", "tool_use", "tool_use"]);
    expect(blocks[0]!.deltas).toEqual([{ type: "text_delta", text: "Let me" }, { type: "text_delta", text: " check." }]);
    // fragments go out as they came (held back only until the call's name is known)
    expect(blocks[1]!.deltas.map((d) => d.partial_json)).toEqual(['{"loc', 'ation": "Par', 'is, \\"Île\\" ✓", "unit": "c"}']);
    expect(blocks[3]!.deltas.map((d) => d.partial_json)).toEqual(['{"q": ', '"gateways \\u2014 tools"}']);
    const start = events[0]!.data.message as Record<string, unknown>;
    expect(start).toMatchObject({ type: "message", role: "assistant", model: alias, content: [], stop_reason: null });
    const tool = events.find((e) => e.event === "content_block_start" && e.data.index === 1)!.data.content_block;
    expect(tool).toEqual({ type: "tool_use", id: "toolu_w8Q1", name: "get_weather", input: {} });
    const md = events.find((e) => e.event === "message_delta")!.data;
    expect(md).toMatchObject({ delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 57, input_tokens: 27, cache_read_input_tokens: 64 } });
    expect(events.some((e) => e.data.type === "error")).toBe(false);
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ endpoint: "messages", status: "ok", stream: true, modelRequested: alias, promptTokens: 91, completionTokens: 57, toolsOffered: 3, toolCalls: 3 });
  });

  it("a tool call that arrives whole still streams an input_json_delta; one without arguments gets input {}", async () => {
    up.behave({ kind: "chunks", chunks: WHOLE_CALLS });
    const res = await post("messages", { model: alias, max_tokens: 64, stream: true, tools: [WEATHER, TIME], messages: [{ role: "user", content: "x" }] });
    const blocks = checkGrammar(parseSse(await res.text()));
    expect(blocks.map((b) => [b.type, b.deltas.map((d) => d.partial_json)])).toEqual([
      ["tool_use", ['{"location":"Oslo","unit":"c"}']],
      ["tool_use", [""]],
    ]);
    up.behave({ kind: "chunks", chunks: WHOLE_CALLS });
    const final = await client.messages.stream({ model: alias, max_tokens: 64, tools: [WEATHER, TIME], messages: [{ role: "user", content: "x" }] }).finalMessage();
    expect(final.content).toEqual([
      { type: "tool_use", id: "toolu_A", name: "get_weather", input: { location: "Oslo", unit: "c" } },
      { type: "tool_use", id: "toolu_B", name: "get_time", input: {} },
    ]);
  });

  it("a tool_use/tool_result round trip: history mapped to the upstream's tool calls and tool messages", async () => {
    up.behave({ kind: "chunks", chunks: WHOLE_CALLS });
    const ask: Anthropic.MessageParam = { role: "user", content: "Weather in Oslo, and the time?" };
    const first = await client.messages.create({ model: alias, max_tokens: 64, tools: [WEATHER, TIME], tool_choice: { type: "any", disable_parallel_tool_use: false }, messages: [ask] });
    expect(lastRequest()).toMatchObject({ tool_choice: "required", tools: [{ type: "function", function: { name: "get_weather", parameters: WEATHER.input_schema } }, { type: "function", function: { name: "get_time" } }] });
    const [a, b] = first.content as Anthropic.ToolUseBlock[];
    up.behave({ kind: "chunks", chunks: [delta({ role: "assistant", content: "It is 3°C in Oslo." }), delta({}, "stop")] });
    const png = Buffer.from("\x89PNG fake").toString("base64");
    const second = await client.messages.create({
      model: alias,
      max_tokens: 64,
      tools: [WEATHER, TIME],
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
      messages: [
        ask,
        { role: "assistant", content: [{ type: "thinking", thinking: "The user wants both.", signature: "sig" }, { type: "text", text: "Checking." }, ...first.content] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: a!.id, content: [{ type: "text", text: '{"temp":3}' }, { type: "image", source: { type: "base64", media_type: "image/png", data: png } }] },
            { type: "tool_result", tool_use_id: b!.id, content: "clock unavailable", is_error: true },
            { type: "text", text: "Thanks" },
          ],
        },
      ],
    });
    expect(second.content).toEqual([{ type: "text", text: "It is 3°C in Oslo." }]);
    const sent = lastRequest();
    expect(sent.parallel_tool_calls).toBe(false);
    expect(sent.messages).toEqual([
      { role: "user", content: "Weather in Oslo, and the time?" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          { id: "toolu_A", type: "function", function: { name: "get_weather", arguments: '{"location":"Oslo","unit":"c"}' } },
          { id: "toolu_B", type: "function", function: { name: "get_time", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "toolu_A", content: '{"temp":3}' },
      { role: "tool", tool_call_id: "toolu_B", content: "Error: clock unavailable" },
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          { type: "text", text: "Thanks" },
        ],
      },
    ]);
  });

  it("a stream cut mid-way ends with an error event, and the usage row bills the tokens streamed", async () => {
    const chunks = [delta({ role: "assistant", content: "" }), ...["One", " two", " three", " four", " five", " six"].map((t) => delta({ content: t })), delta({}, "stop")];
    cut.behave({ kind: "chunks", chunks, dieAfter: 6 });
    const res = await post("messages", { model: cutAlias, max_tokens: 64, stream: true, messages: [{ role: "user", content: "count" }] });
    const events = parseSse(await res.text());
    const last = events[events.length - 1]!;
    expect(last.event).toBe("error");
    expect(last.data).toMatchObject({ type: "error", error: { type: expect.stringMatching(/^(api_error|overloaded_error)$/), message: expect.any(String) } });
    expect(events.filter((e) => e.event === "content_block_delta").map((e) => (e.data.delta as { text: string }).text).join("")).toBe("One two three four five");
    expect(events.some((e) => e.event === "message_stop")).toBe(false);
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ endpoint: "messages", status: "error", completionTokens: 5 });
    // the SDK surfaces it as an APIError
    cut.behave({ kind: "chunks", chunks, dieAfter: 6 });
    await expect(client.messages.stream({ model: cutAlias, max_tokens: 64, messages: [{ role: "user", content: "count" }] }).finalMessage()).rejects.toBeInstanceOf(Anthropic.APIError);
  });

  it("thinking on: the upstream's reasoning comes back as thinking blocks (streamed as thinking_delta); off: not shown", async () => {
    const chunks = [delta({ role: "assistant", content: "" }), delta({ reasoning_content: "Think" }), delta({ reasoning_content: "ing." }), delta({ content: "Answer" }), delta({}, "stop")];
    const ask = { model: alias, max_tokens: 64, messages: [{ role: "user" as const, content: "Why?" }] };
    up.behave({ kind: "chunks", chunks });
    const res = await post("messages", { ...ask, stream: true, thinking: { type: "enabled", budget_tokens: 1024 } });
    const blocks = checkGrammar(parseSse(await res.text()));
    expect(blocks).toEqual([
      { type: "thinking", deltas: [{ type: "thinking_delta", thinking: "Think" }, { type: "thinking_delta", thinking: "ing." }] },
      { type: "text", deltas: [{ type: "text_delta", text: "Answer" }] },
    ]);
    up.behave({ kind: "chunks", chunks });
    const whole = await client.messages.create({ ...ask, thinking: { type: "adaptive" } });
    expect(whole.content).toEqual([{ type: "thinking", thinking: "Thinking.", signature: "" }, { type: "text", text: "Answer" }]);
    up.behave({ kind: "chunks", chunks });
    expect((await client.messages.create(ask)).content).toEqual([{ type: "text", text: "Answer" }]);
  });

  it("pings while the upstream is slow to start", async () => {
    const slow = await startFakeUpstream({ models: ["up-model"] });
    slow.behave({ kind: "hang-after-headers" });
    const slowAlias = await aliasOnUpstreams(tenant.id, "claude-slow", [slow.url]);
    const ac = new AbortController();
    const res = await fetch(`${server.url}/api/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify({ model: slowAlias, max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let text = "";
    // the one after message_start, then one for the silence (PING_INTERVAL_MS)
    while ((text.match(/event: ping/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended: ${text}`);
      text += new TextDecoder().decode(value);
    }
    expect(parseSse(text).map((e) => e.event)).toEqual(["message_start", "ping", "ping"]);
    ac.abort();
    await expect.poll(async () => (await logRow(res.headers.get("x-request-id")!).catch(() => null))?.status, { timeout: 10_000 }).toBe("cancelled");
    await slow.close();
  });

  it("count_tokens for a remote target is the gateway's estimate, and bills nothing", async () => {
    const body = { model: alias, system: "Be brief.", messages: [{ role: "user" as const, content: "How many tokens is this sentence, roughly?" }], tools: [WEATHER] };
    const count = await client.messages.countTokens(body);
    expect(count.input_tokens).toBeGreaterThan(10);
    const res = await post("messages/count_tokens", body);
    expect(res.headers.get("x-switchyard-token-count")).toBe("estimate");
    expect(await res.json()).toEqual({ input_tokens: count.input_tokens });
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ endpoint: "messages.count_tokens", status: "ok", promptTokens: 0, completionTokens: 0 });
  });
});

describe("Anthropic auth and errors", () => {
  it("accepts the key as x-api-key (the SDK's apiKey), as Authorization: Bearer (authToken), with anthropic-beta and ?beta=true", async () => {
    up.behave({ kind: "reply" });
    const viaBearer = new Anthropic({ baseURL: `${server.url}/api`, authToken: key, apiKey: null, maxRetries: 0 });
    expect((await viaBearer.messages.create({ model: alias, max_tokens: 8, messages: [{ role: "user", content: "hi" }] })).content).toEqual([{ type: "text", text: "Hello from upstream." }]);
    const res = await fetch(`${server.url}/api/v1/messages?beta=true`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14" },
      body: JSON.stringify({ model: alias, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()) as object).toMatchObject({ type: "message" });
  });

  it("a key in x-api-key goes through the same IP allowlist and request-signing checks", async () => {
    up.behave({ kind: "reply" });
    const ok = { model: alias, max_tokens: 8, messages: [{ role: "user", content: "hi" }] };
    const fenced = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `ip-${uniq()}` });
    await sec.setKeyIpAllowlist(db(), CLI_ACTOR, tenant.id, { keyId: fenced.apiKey.id, ipAllowlist: ["10.0.0.0/8"] });
    const outside = await post("messages", ok, { "x-api-key": fenced.key });
    expect(outside.status).toBe(403);
    expect(await outside.json()).toMatchObject({ type: "error", error: { type: "permission_error", message: expect.stringContaining("127.0.0.1") } });

    const signed = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `sig-${uniq()}` });
    const { secret } = await sec.enableSigning(db(), CLI_ACTOR, tenant.id, { keyId: signed.apiKey.id });
    const unsigned = await post("messages", ok, { "x-api-key": signed.key });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: { type: "authentication_error", message: expect.stringContaining("signed requests") } });
    const body = JSON.stringify(ok);
    const res = await fetch(`${server.url}/api/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": signed.key, "x-switchyard-signature": signatureHeader(secret, Math.floor(Date.now() / 1000), "POST", "/api/v1/messages", body) },
      body,
    });
    expect(res.status).toBe(200);
  });

  it("answers every refusal in Anthropic's error shape with the right status", async () => {
    const expectError = async (res: Response, status: number, type: string, message: RegExp) => {
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      const body = (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
      expect(body).toEqual({ type: "error", error: { type, message: expect.stringMatching(message) }, request_id: res.headers.get("x-request-id") });
      expect(body.error.message).not.toMatch(/\bat \w+ \(|node_modules/); // never a stack trace
    };
    const ok = { model: alias, max_tokens: 8, messages: [{ role: "user", content: "hi" }] };
    await expectError(await post("messages", { ...ok, max_tokens: undefined }), 400, "invalid_request_error", /^max_tokens is required/);
    await expectError(
      await post("messages", { ...ok, messages: [{ role: "user", content: [{ type: "document", source: { type: "text", data: "x" } }] }] }),
      400,
      "invalid_request_error",
      /content block type 'document' is not supported in user messages \(text, image, tool_result\)/,
    );
    await expectError(await post("messages", { ...ok, messages: [{ role: "system", content: "x" }] }), 400, "invalid_request_error", /top-level system field/);
    await expectError(await post("messages", { ...ok, tools: [{ type: "web_search_20250305", name: "web_search" }] }), 400, "invalid_request_error", /tool type 'web_search_20250305' is not supported/);
    await expectError(await post("messages", { ...ok, messages: [...ok.messages, { role: "assistant", content: "The answer is" }] }), 400, "invalid_request_error", /prefill/);
    await expectError(await post("messages", ok, {}), 401, "authentication_error", /didn't provide an API key/);
    await expectError(await post("messages", ok, { "x-api-key": "sk-nope" }), 401, "authentication_error", /Incorrect API key/);
    await expectError(await post("messages", { ...ok, model: "claude-nonexistent" }), 404, "not_found_error", /claude-nonexistent/);
    await expectError(await post("messages/count_tokens", { messages: ok.messages }), 400, "invalid_request_error", /model is required/);
    const batches = await post("messages/batches", { requests: [] });
    expect(batches.status).toBe(404);
    expect(await batches.json()).toMatchObject({ type: "error", error: { type: "not_found_error", message: expect.stringContaining("/api/v1/messages/batches") } });
    // the SDK maps them to its own error classes
    await expect(new Anthropic({ baseURL: `${server.url}/api`, apiKey: "sk-nope", maxRetries: 0 }).messages.create(ok as never)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(client.messages.create({ ...ok, model: "claude-nonexistent" } as never)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("a key's RPM limit answers 429 rate_limit_error with retry-after, which the SDK reads", async () => {
    up.behave({ kind: "reply" });
    const created = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "limited" });
    await setKeyLimits(db(), CLI_ACTOR, tenant.id, { keyId: created.apiKey.id, rpm: 1 });
    const ok = { model: alias, max_tokens: 8, messages: [{ role: "user", content: "hi" }] };
    expect((await post("messages", ok, { "x-api-key": created.key })).status).toBe(200);
    const res = await post("messages", ok, { "x-api-key": created.key });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    const limited = new Anthropic({ baseURL: `${server.url}/api`, apiKey: created.key, maxRetries: 0 });
    const err = await limited.messages.create(ok as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).headers.get("retry-after")).toBeTruthy();
  });
});
