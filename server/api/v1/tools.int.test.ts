/**
 * Tool calling and the other agent-facing parameters through /api/v1 to a remote
 * backend, over real HTTP with the official `openai` SDK. The upstream is a fake
 * OpenAI-compatible server on loopback (the world's edge) that streams realistic
 * tool-call fragments: several calls interleaved, arguments split at awkward
 * places, arguments before the id, several fragments in one chunk, a usage chunk.
 * What the SDK assembles through Switchyard must equal what it assembles from the
 * upstream directly — streamed or not, with and without include_usage — and the
 * fragments must be re-emitted one for one (same index, never merged or renamed).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const { startV1Server } = await import("../../test/v1-server");
const { chunkDelta: delta, startFakeUpstream, toolFragment: frag } = await import("../../test/fake-upstream");
const { aliasOnUpstreams, usageRowOf, v1Tenant } = await import("../../test/v1-harness");

type Fake = Awaited<ReturnType<typeof startFakeUpstream>>;

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string };
let key: string;
let up: Fake;
let alias: string;
let client: OpenAI;
let direct: OpenAI;
const fakes: Fake[] = [];

const WEATHER = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { location: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["location"] },
  },
};
const TIME = { type: "function" as const, function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } } } } };
const SEARCH = { type: "function" as const, function: { name: "search", parameters: { type: "object", properties: { q: { type: "string" } } } } };
const TOOLS = [WEATHER, TIME, SEARCH];


/** Three parallel calls as vLLM/OpenAI stream them, at their most awkward. */
const PARALLEL_CALLS: object[] = [
  delta({ role: "assistant", content: null }),
  delta({ tool_calls: [frag(0, { id: "call_w8Q1", name: "get_weather", arguments: "" })] }),
  delta({ tool_calls: [frag(0, { arguments: '{"loc' })] }),
  delta({ tool_calls: [frag(0, { arguments: 'ation": "Par' })] }),
  delta({ tool_calls: [frag(0, { arguments: 'is, \\"Île-de-Fr' })] }),
  delta({ tool_calls: [frag(0, { arguments: 'ance\\" ✓", "unit": "c"}' })] }),
  delta({ tool_calls: [frag(1, { id: "call_t1Me", name: "get_time", arguments: '{"tz":' })] }),
  // the end of one call and the start of the next in one chunk; the third call's arguments
  // arrive before its id and name
  delta({ tool_calls: [frag(1, { arguments: ' "Europe/Paris"}' }), frag(2, { arguments: '{"q": ' })] }),
  delta({ tool_calls: [frag(2, { id: "call_s3aR", name: "search" })] }),
  delta({ tool_calls: [frag(2, { arguments: '"gateways \\u2014 tools"}' })] }),
  delta({}, "tool_calls"),
  { choices: [], usage: { prompt_tokens: 91, completion_tokens: 57, total_tokens: 148 } },
];

/** Choices without what the SDK's stream helper adds on its own (`parsed`), to compare with non-stream answers. */
function plain(choices: unknown) {
  return JSON.parse(JSON.stringify(choices, (k, v: unknown) => (k === "parsed" || k === "parsed_arguments" ? undefined : v))) as unknown;
}

/** The fragments of a list of chunks, flattened in order: what must come out the other side. */
function fragmentsOf(chunks: { choices?: { index?: number; delta?: { tool_calls?: unknown[] } }[] }[]) {
  return chunks.flatMap((c) =>
    (c.choices ?? []).flatMap((ch) =>
      ((ch.delta?.tool_calls ?? []) as { index: number; id?: string; function?: { name?: string; arguments?: string } }[]).map((t) => ({
        choice: ch.index ?? 0,
        index: t.index,
        id: t.id,
        name: t.function?.name,
        arguments: t.function?.arguments || undefined,
      })),
    ),
  );
}

async function fake() {
  const f = await startFakeUpstream({ models: ["up-model"] });
  fakes.push(f);
  return f;
}

const aliasFor = (...fs: (Fake | [Fake, { vision: boolean }])[]) =>
  aliasOnUpstreams(tenant.id, "tools", fs.map((x) => (Array.isArray(x) ? { url: x[0].url, ...x[1] } : x.url)));

const logRow = (requestId: string) => usageRowOf(tenant.id, requestId);

/** Raw SSE events of a response. */
async function events(res: Response) {
  const out: Record<string, unknown>[] = [];
  for (const block of (await res.text()).split("\n\n")) {
    const line = block.trim();
    if (line && line !== "data: [DONE]") out.push(JSON.parse(line.slice(6)) as Record<string, unknown>);
  }
  return out;
}

const ask = { messages: [{ role: "user" as const, content: "Weather and time in Paris, and search gateways" }], tools: TOOLS };

beforeAll(async () => {
  server = await startV1Server();
  ({ tenant, key, client } = await v1Tenant(server.url));
  up = await fake();
  alias = await aliasFor(up);
  direct = new OpenAI({ baseURL: up.url, apiKey: "upstream", maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  for (const f of fakes) await f.close();
});

describe("tool calls from a remote upstream", () => {
  it("stream: the SDK assembles the same calls through Switchyard as directly; fragments re-emitted one for one", async () => {
    up.behave({ kind: "chunks", chunks: PARALLEL_CALLS });
    const viaUs = await client.chat.completions.stream({ model: alias, ...ask, stream_options: { include_usage: true } }).finalChatCompletion();
    const viaUp = await direct.chat.completions.stream({ model: "up-model", ...ask, stream_options: { include_usage: true } }).finalChatCompletion();
    expect(viaUs.choices).toEqual(viaUp.choices);
    expect(viaUs.choices[0]!.finish_reason).toBe("tool_calls");
    expect(viaUs.choices[0]!.message.tool_calls!.map((t) => t.type === "function" && [t.id, t.function.name, JSON.parse(t.function.arguments)])).toEqual([
      ["call_w8Q1", "get_weather", { location: 'Paris, "Île-de-France" ✓', unit: "c" }],
      ["call_t1Me", "get_time", { tz: "Europe/Paris" }],
      ["call_s3aR", "search", { q: "gateways — tools" }],
    ]);
    expect(viaUs.usage).toMatchObject({ prompt_tokens: 91, completion_tokens: 57, total_tokens: 148 });

    // on the wire: the upstream's fragments, in order, with their indexes, ids and names as sent
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: alias, ...ask, stream: true }),
    });
    const ours = await events(res);
    expect(fragmentsOf(ours as never)).toEqual(fragmentsOf(PARALLEL_CALLS as never));
    expect(ours.every((c) => !("usage" in c))).toBe(true); // no include_usage: no usage field at all
    expect(ours.filter((c) => (c.choices as { finish_reason: string | null }[])[0]?.finish_reason).map((c) => (c.choices as { finish_reason: string }[])[0]!.finish_reason)).toEqual(["tool_calls"]);
    // never turned into text
    expect(ours.some((c) => (c.choices as { delta: { content?: string } }[])[0]?.delta.content)).toBe(false);

    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "ok", stream: true, promptTokens: 91, completionTokens: 57, toolsOffered: 3, toolCalls: 3 });
  });

  it("non-stream: the message holds the calls as upstream sent them, content null, finish_reason tool_calls", async () => {
    up.behave({ kind: "chunks", chunks: PARALLEL_CALLS });
    const viaUs = await client.chat.completions.create({ model: alias, ...ask });
    const viaUp = await direct.chat.completions.stream({ model: "up-model", ...ask }).finalChatCompletion();
    expect(plain(viaUs.choices)).toEqual(plain(viaUp.choices));
    expect(viaUs.choices[0]!.message.content).toBeNull();
    expect(viaUs.usage).toMatchObject({ prompt_tokens: 91, completion_tokens: 57 });
  });

  it("forwards tools, tool_choice, parallel_tool_calls, tool history, images and vendor fields unchanged", async () => {
    up.behave({ kind: "chunks", chunks: [delta({ role: "assistant", content: "It is sunny." }), delta({}, "stop")] });
    const image = `data:image/png;base64,${Buffer.from("\x89PNG fake bytes \u00ff").toString("base64")}`;
    const messages = [
      { role: "developer", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture, and the weather?" },
          { type: "image_url", image_url: { url: image, detail: "low" } },
          { type: "image_url", image_url: { url: "https://example.test/cat.jpg" } },
        ],
      },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: '{"temp":21}' },
    ];
    const body = {
      model: alias,
      messages,
      tools: [WEATHER],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      n: 1,
      logit_bias: { "50256": -100 },
      logprobs: true,
      top_logprobs: 2,
      metadata: { team: "search" },
      store: false,
      reasoning_effort: "low",
      prompt_cache_key: "conv-42",
      user: "u-7",
      x_vendor_extension: { keep: ["me", 1] },
      max_completion_tokens: 64,
    };
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("It is sunny.");
    const sent = up.requests.at(-1)!.body;
    const { model: _m, ...rest } = body;
    // everything the caller sent reaches upstream as it was — a non-streaming request as a
    // non-streaming one; the developer role becomes system (what every OpenAI-compatible
    // server understands; OpenAI treats them alike)
    const asSent = { ...rest, messages: [{ role: "system", content: "Be brief." }, ...messages.slice(1)] };
    expect(sent).toEqual({ ...asSent, model: "up-model" });
    expect(sent).not.toHaveProperty("max_tokens"); // max_completion_tokens goes through as such
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "ok" });
  });

  it("legacy functions/function_call: forwarded as such, and the SDK assembles function_call", async () => {
    up.behave({
      kind: "chunks",
      chunks: [
        delta({ role: "assistant", content: null, function_call: { name: "get_weather", arguments: "" } }),
        delta({ function_call: { arguments: '{"location":' } }),
        delta({ function_call: { arguments: '"Oslo"}' } }),
        delta({}, "function_call"),
      ],
    });
    const legacy = { messages: [{ role: "user" as const, content: "Oslo?" }], functions: [WEATHER.function], function_call: "auto" as const };
    const viaUs = await client.chat.completions.stream({ model: alias, ...legacy }).finalChatCompletion();
    const viaUp = await direct.chat.completions.stream({ model: "up-model", ...legacy }).finalChatCompletion();
    expect(viaUs.choices).toEqual(viaUp.choices);
    expect(viaUs.choices[0]).toMatchObject({ finish_reason: "function_call", message: { function_call: { name: "get_weather", arguments: '{"location":"Oslo"}' } } });
    expect(up.requests.at(-1)!.body).toMatchObject({ functions: [WEATHER.function], function_call: "auto" });
    expect(up.requests.at(-1)!.body).not.toHaveProperty("tools");
    const nonStream = await client.chat.completions.create({ model: alias, ...legacy });
    expect(plain(nonStream.choices)).toEqual(plain(viaUp.choices));
  });

  it("n > 1 and logprobs pass through: every choice and its log probabilities", async () => {
    const lp = (t: string) => ({ content: [{ token: t, logprob: -0.5, bytes: [...Buffer.from(t)], top_logprobs: [] }], refusal: null });
    up.behave({
      kind: "chunks",
      chunks: [
        { choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] },
        { choices: [{ index: 1, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] },
        { choices: [{ index: 0, delta: { content: "Yes" }, logprobs: lp("Yes"), finish_reason: null }] },
        { choices: [{ index: 1, delta: { content: "No" }, logprobs: lp("No"), finish_reason: null }] },
        { choices: [{ index: 1, delta: {}, logprobs: null, finish_reason: "stop" }] },
        { choices: [{ index: 0, delta: { content: "!" }, logprobs: lp("!"), finish_reason: null }] },
        { choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "length" }] },
      ],
    });
    const req = { messages: [{ role: "user" as const, content: "?" }], n: 2, logprobs: true };
    const viaUp = await direct.chat.completions.stream({ model: "up-model", ...req }).finalChatCompletion();
    const streamed = await client.chat.completions.stream({ model: alias, ...req }).finalChatCompletion();
    const whole = await client.chat.completions.create({ model: alias, ...req });
    expect(streamed.choices).toEqual(viaUp.choices);
    expect(plain(whole.choices)).toEqual(plain(viaUp.choices));
    expect(whole.choices.map((c) => [c.message.content, c.finish_reason])).toEqual([
      ["Yes!", "length"],
      ["No", "stop"],
    ]);
    expect(up.requests.at(-1)!.body).toMatchObject({ n: 2, logprobs: true });
  });

  it("reasoning_content (vLLM, DeepSeek, llama-server) and OpenRouter's reasoning come through, streamed and whole", async () => {
    up.behave({
      kind: "chunks",
      chunks: [
        delta({ role: "assistant", content: null }),
        delta({ reasoning_content: "The user wants " }),
        delta({ reasoning: "a short answer." }),
        delta({ content: "Yes." }),
        delta({}, "stop"),
      ],
    });
    const req = { model: alias, messages: [{ role: "user" as const, content: "?" }] };
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ ...req, stream: true }),
    });
    const deltas = (await events(res)).map((c) => (c.choices as { delta: Record<string, unknown> }[])[0]?.delta ?? {});
    expect(deltas.flatMap((d) => (typeof d.reasoning_content === "string" ? [d.reasoning_content] : []))).toEqual(["The user wants ", "a short answer."]);
    const whole = (await client.chat.completions.create(req)) as unknown as { choices: { message: { content: string; reasoning_content?: string } }[] };
    expect(whole.choices[0]!.message).toMatchObject({ content: "Yes.", reasoning_content: "The user wants a short answer." });
  });

  it("an agent loop with the openai SDK: ask → tool call → tool result → final answer", async () => {
    up.behave({
      kind: "chunks",
      chunks: (body) => {
        const msgs = body.messages as { role: string; content?: string; tool_call_id?: string }[];
        const last = msgs.at(-1)!;
        if (last.role === "tool") return [delta({ role: "assistant", content: `The tool said ${last.content} for ${last.tool_call_id}.` }), delta({}, "stop")];
        return [
          delta({ role: "assistant", content: null, tool_calls: [frag(0, { id: "call_agent1", name: "get_weather", arguments: '{"location":' })] }),
          delta({ tool_calls: [frag(0, { arguments: '"Rome"}' })] }),
          delta({}, "tool_calls"),
        ];
      },
    });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Rome?" }];
    let answer = "";
    for (let turn = 0; turn < 4 && !answer; turn++) {
      const c = await client.chat.completions.create({ model: alias, messages, tools: [WEATHER] });
      const msg = c.choices[0]!.message;
      messages.push(msg);
      if (c.choices[0]!.finish_reason === "tool_calls") {
        for (const call of msg.tool_calls ?? []) {
          if (call.type !== "function") continue;
          const args = JSON.parse(call.function.arguments) as { location: string };
          messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify({ city: args.location, temp: 24 }) });
        }
      } else answer = msg.content ?? "";
    }
    expect(answer).toBe('The tool said {"city":"Rome","temp":24} for call_agent1.');
    // the second request carried the assistant's call (content null) and the paired tool result
    expect((up.requests.at(-1)!.body.messages as unknown[]).slice(1)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "call_agent1", type: "function", function: { name: "get_weather", arguments: '{"location":"Rome"}' } }] },
      { role: "tool", tool_call_id: "call_agent1", content: '{"city":"Rome","temp":24}' },
    ]);
  });
});

describe("image parts and backend capabilities", () => {
  const withImage = (model: string) => ({
    model,
    messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQSkZJRg==" } }] }],
  });
  const post = (body: object) =>
    fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("routing skips a text-only target for an image request; the vision backend gets the part byte for byte", async () => {
    const textOnly = await fake();
    const vision = await fake();
    vision.behave({ kind: "chunks", chunks: [delta({ role: "assistant", content: "A cat." }), delta({}, "stop")] });
    const a = await aliasFor([textOnly, { vision: false }], [vision, { vision: true }]);
    const res = await post(withImage(a));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("A cat.");
    expect(textOnly.requests).toHaveLength(0);
    expect((vision.requests.at(-1)!.body.messages as unknown[])[0]).toEqual(withImage(a).messages[0]);
    const row = await logRow(res.headers.get("x-request-id")!);
    expect(row.routeReason).toMatch(/text-only/);

    // without an image the text-only target serves as before
    textOnly.behave({ kind: "reply" });
    expect((await post({ model: a, messages: [{ role: "user", content: "Hi" }] })).status).toBe(200);
    expect(textOnly.requests).toHaveLength(1);
  });

  it("an image for a text-only target: 400 model_not_supported naming the model", async () => {
    const textOnly = await fake();
    const a = await aliasFor([textOnly, { vision: false }]);
    const res = await post(withImage(a));
    expect(res.status).toBe(400);
    const e = ((await res.json()) as { error: { code: string; param: string; message: string } }).error;
    expect([e.code, e.param]).toEqual(["model_not_supported", "messages"]);
    expect(e.message).toContain(`'${a}'`);
    expect(textOnly.requests).toHaveLength(0);
  });
});

describe("failures around tool calls", () => {
  it("falls back before the first fragment; after a fragment an upstream failure ends the stream with one error event", async () => {
    const broken = await fake();
    const good = await fake();
    broken.behave({ kind: "status", status: 502 });
    good.behave({ kind: "chunks", chunks: PARALLEL_CALLS });
    const fb = await aliasFor(broken, good);
    const viaUs = await client.chat.completions.create({ model: fb, ...ask });
    expect(viaUs.choices[0]!.message.tool_calls).toHaveLength(3);

    const dying = await fake();
    dying.behave({ kind: "chunks", chunks: PARALLEL_CALLS, dieAfter: 4 });
    const fallbackTarget = await fake();
    fallbackTarget.behave({ kind: "chunks", chunks: PARALLEL_CALLS });
    const mid = await aliasFor(dying, fallbackTarget);
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: mid, ...ask, stream: true }),
    });
    const evs = await events(res);
    const errors = evs.filter((e) => "error" in e);
    expect(errors).toHaveLength(1);
    expect(evs.at(-1)).toHaveProperty("error");
    // what was sent before the failure, and nothing spliced from the fallback target
    expect(fragmentsOf(evs as never)).toEqual(fragmentsOf(PARALLEL_CALLS.slice(0, 4) as never));
    expect(fallbackTarget.requests).toHaveLength(0);
    expect(await logRow(res.headers.get("x-request-id")!)).toMatchObject({ status: "error" });
  });

  it("what upstream refuses comes back as a 400 in our envelope; bad tool input is our 400 naming the field", async () => {
    up.behave({ kind: "status", status: 400, message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'." });
    const res = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: alias, messages: [{ role: "tool", tool_call_id: "x", content: "1" }] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("backend_rejected_request");
    expect(body.error.message).toMatch(/preceeding message with 'tool_calls'/);

    const bad = async (extra: object, param: string) => {
      const r = await fetch(`${server.url}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: alias, messages: [{ role: "user", content: "x" }], ...extra }),
      });
      expect(r.status).toBe(400);
      const e = ((await r.json()) as { error: { param: string; message: string } }).error;
      expect(e.param).toBe(param);
      return e.message;
    };
    expect(await bad({ tools: [{ type: "retrieval" }] }, "tools.0.type")).toMatch(/only tools of type 'function'/);
    expect(await bad({ tools: [WEATHER], tool_choice: { type: "function", function: { name: "nope" } } }, "tool_choice")).toMatch(/not in tools/);
    expect(await bad({ tool_choice: "required" }, "tool_choice")).toMatch(/needs tools/);
    expect(await bad({ messages: [{ role: "tool", content: "1" }] }, "messages.0.tool_call_id")).toMatch(/tool_call_id is required/);
    expect(await bad({ messages: [{ role: "user", content: [{ type: "video_url", video_url: {} }] }] }, "messages.0.content.0.type")).toMatch(/'video_url' is not supported here \(text, image_url, input_audio\)/);
    expect(await bad({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }] }, "messages.0.content.0.image_url.url")).toMatch(/http\(s\) URL or a data:image/);
    expect(await bad({ messages: [{ role: "robot", content: "x" }] }, "messages.0.role")).toMatch(/role must be one of/);
  });
});
