/**
 * The Responses API on a LOCAL model, over real HTTP with the official `openai` SDK and
 * real llama.cpp on the project's tiny tool-calling GGUF (scripts/tiny-gguf): an agent
 * loop (forced function_call → function_call_output by previous_response_id → the
 * model's answer), the stream's events for a text answer and for a call, text.format
 * json_schema enforced by the grammar, a max_output_tokens cut, and a disconnect in the
 * middle of a call (row cancelled with the tokens streamed, slot free).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_MODEL } from "../../../scripts/tiny-gguf/make-tiny-model";

const { localPool } = await import("../../inference/engine");
const { startV1Server } = await import("../../test/v1-server");
const { usageRowOf, v1Tenant } = await import("../../test/v1-harness");
const { registerTinyModel } = await import("../../test/tiny-model");

type Ev = Record<string, unknown> & { type: string; sequence_number: number };

let server: { url: string; close: () => Promise<void> };
let tenant: { id: string };
let key: string;
let MODEL: string;
let client: OpenAI;

const WEATHER = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
    required: ["city", "unit"],
    additionalProperties: false,
  },
  strict: true,
};

beforeAll(async () => {
  MODEL = await registerTinyModel("v1-responses", { tools: true });
  server = await startV1Server();
  ({ tenant, key, client } = await v1Tenant(server.url));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

const logRow = (requestId: string) => usageRowOf(tenant.id, requestId);

const post = (body: object, signal?: AbortSignal) =>
  fetch(`${server.url}/api/v1/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, ...body }),
    signal,
  });

async function events(res: Response): Promise<Ev[]> {
  return (await res.text())
    .split("\n\n")
    .filter((b) => b.trim())
    .map((b) => JSON.parse(/^data: (.+)$/m.exec(b)![1]!) as Ev);
}

describe("Responses API on a local GGUF", () => {
  it("an agent loop: forced function_call → function_call_output via previous_response_id → the model's answer", async () => {
    const first = await client.responses.create({ model: MODEL, input: "Weather in Paris?", tools: [WEATHER], tool_choice: "required", temperature: 0 });
    expect(first.status).toBe("completed");
    const calls = first.output.filter((o) => o.type === "function_call");
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.name).toBe("get_weather");
    expect(call.call_id).toMatch(/^call_/);
    const args = JSON.parse(call.arguments) as Record<string, unknown>;
    expect(Object.keys(args).sort()).toEqual(["city", "unit"]);
    expect(["celsius", "fahrenheit"]).toContain(args.unit);

    const second = await client.responses.create({
      model: MODEL,
      tools: [WEATHER],
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: '{"temp": 21}' }],
      temperature: 0,
    });
    expect(second.status).toBe("completed");
    expect(second.output_text).toBe(TINY_MODEL.chatReply);
    // the call and its result were rendered into the prompt
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
    expect(second.usage!.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(0);
  });

  it("stream of a text answer: the documented events in order; the SDK's finalResponse() has the text", async () => {
    const evs = await events(await post({ input: "Hi", stream: true }));
    const types = evs.map((e) => e.type);
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    expect(deltas).toBeGreaterThan(1);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array<string>(deltas).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    expect(evs.filter((e) => "output_index" in e).every((e) => e.output_index === 0)).toBe(true);
    expect(evs.filter((e) => "content_index" in e).every((e) => e.content_index === 0)).toBe(true);
    expect(evs.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("")).toBe(TINY_MODEL.chatReply);
    expect(evs.find((e) => e.type === "response.output_text.done")!.text).toBe(TINY_MODEL.chatReply);

    const final = await client.responses.stream({ model: MODEL, input: "Hi" }).finalResponse();
    expect(final.output_text).toBe(TINY_MODEL.chatReply);
    expect(final.usage!.output_tokens).toBe(TINY_MODEL.chatReplyTokenCount);
  });

  it("stream of a call: output_item.added with name and call_id, arguments in fragments, .done with all of them", async () => {
    const evs = await events(await post({ input: "Paris?", tools: [WEATHER], tool_choice: { type: "function", name: "get_weather" }, stream: true }));
    const types = evs.map((e) => e.type);
    const deltas = evs.filter((e) => e.type === "response.function_call_arguments.delta");
    expect(deltas.length).toBeGreaterThan(1);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      ...Array<string>(deltas.length).fill("response.function_call_arguments.delta"),
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    expect(evs[2]!.item).toMatchObject({ type: "function_call", name: "get_weather", call_id: expect.stringMatching(/^call_/), arguments: "", status: "in_progress" });
    const all = deltas.map((e) => e.delta).join("");
    expect(evs.find((e) => e.type === "response.function_call_arguments.done")!.arguments).toBe(all);
    expect(JSON.parse(all)).toMatchObject({ city: expect.any(String) });
    const done = evs.at(-1)!.response as OpenAI.Responses.Response;
    expect(done.output).toEqual([evs.find((e) => e.type === "response.output_item.done")!.item]);
    expect(await client.responses.retrieve(done.id)).toMatchObject({ id: done.id, output: done.output, status: "completed" });
  });

  it("text.format json_schema is enforced by the grammar; max_output_tokens cuts it incomplete", async () => {
    const schema = { type: "object", properties: { ok: { type: "boolean" }, name: { type: "string", enum: ["a", "b"] } }, required: ["ok", "name"], additionalProperties: false };
    const res = await client.responses.create({ model: MODEL, input: "Hi", max_output_tokens: 64, text: { format: { type: "json_schema", name: "r", schema, strict: true } } });
    const parsed = JSON.parse(res.output_text) as { ok: unknown; name: unknown };
    expect(typeof parsed.ok).toBe("boolean");
    expect(["a", "b"]).toContain(parsed.name);

    const cut = await client.responses.create({ model: MODEL, input: "Hi", max_output_tokens: 2 });
    expect(cut.status).toBe("incomplete");
    expect(cut.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(cut.usage!.output_tokens).toBe(2);
  });

  it("what a local model cannot do is a 400 naming the Responses field", async () => {
    const bad = async (body: object, code: string, param: string) => {
      const r = await post(body);
      expect(r.status).toBe(400);
      const e = ((await r.json()) as { error: { type: string; code: string; param: string } }).error;
      expect(e).toMatchObject({ type: "invalid_request_error", code, param });
    };
    const image = [{ role: "user", content: [{ type: "input_text", text: "What is this?" }, { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=" }] }];
    await bad({ input: image }, "model_not_supported", "input");
    await bad({ input: "Hi", tools: [WEATHER], text: { format: { type: "json_object" } } }, "unsupported_parameter", "text.format");
  });

  it("a client that disconnects in the middle of a call cancels it: row cancelled with the streamed tokens, slot free", async () => {
    const ac = new AbortController();
    const res = await post({ input: "Paris?", tools: [WEATHER], tool_choice: "required", stream: true }, ac.signal);
    const requestId = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("response.function_call_arguments.delta")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended before the arguments started");
      seen += new TextDecoder().decode(value);
    }
    ac.abort();
    await expect.poll(async () => (await logRow(requestId).catch(() => null))?.status, { timeout: 20_000 }).toBe("cancelled");
    const row = await logRow(requestId);
    expect(row).toMatchObject({ endpoint: "responses", stream: true, toolsOffered: 1 });
    expect(row.completionTokens).toBeGreaterThan(0);
    await expect.poll(() => localPool().status().find((s) => s.name === MODEL)?.active).toBe(0);
    const next = await client.responses.create({ model: MODEL, input: "Hi" });
    expect(next.output_text).toBe(TINY_MODEL.chatReply);
  });
});
