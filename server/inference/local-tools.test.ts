// The local tool-calling mappings without llama.cpp: schema sanitising, null stripping,
// history pairing, request checks and the tool_call event shape.
import { describe, expect, it } from "vitest";
import { isAppError } from "../errors";
import {
  ArgumentsStream,
  checkLocalRequest,
  endsWithToolResults,
  newCallId,
  parseLogitBias,
  sanitizeTool,
  stripAddedNulls,
  toChatHistory,
  ToolCallEvents,
  toLocalFunctions,
  toolResultValue,
} from "./local-tools";
import type { ChatMessage, GenerateEvent, GenerateRequest, ToolDefinition } from "./types";

function appError(fn: () => unknown): { code: string; param?: string; message: string; status: number } {
  try {
    fn();
  } catch (e) {
    expect(isAppError(e)).toBe(true);
    return e as never;
  }
  throw new Error("expected an AppError");
}

const tool = (parameters: Record<string, unknown> | undefined, name = "t", strict?: boolean): ToolDefinition => ({ name, parameters, ...(strict !== undefined ? { strict } : {}) });

describe("sanitizeTool", () => {
  it("keeps what the grammar enforces and drops annotations", () => {
    const t = sanitizeTool(
      tool({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        title: "Args",
        properties: {
          city: { type: "string", description: "City", examples: ["Paris"], minLength: 1, maxLength: 40 },
          unit: { enum: ["c", "f"], default: "c" },
          n: { type: "integer" },
          when: { type: "string", format: "date" },
          tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 3, uniqueItems: false },
        },
        required: ["city", "unit", "n", "when", "tags"],
        additionalProperties: false,
      }),
    );
    expect(t.nullsAdded).toBe(false);
    expect(t.params).toEqual({
      type: "object",
      properties: {
        city: { type: "string", description: "City", minLength: 1, maxLength: 40 },
        unit: { enum: ["c", "f"] },
        n: { type: "integer" },
        when: { type: "string", format: "date" },
        tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 3 },
      },
    });
  });

  it("makes optional properties nullable (unless they already accept null)", () => {
    const t = sanitizeTool(
      tool({
        type: "object",
        properties: { a: { type: "string" }, b: { type: "number" }, c: { type: ["string", "null"] } },
        required: ["a"],
      }),
    );
    expect(t.nullsAdded).toBe(true);
    expect(t.params).toEqual({
      type: "object",
      properties: {
        a: { type: "string" },
        b: { oneOf: [{ type: "number" }, { type: "null" }] },
        c: { type: ["string", "null"] },
      },
    });
  });

  it("maps anyOf, single allOf, type lists with non-primitive types, $ref/definitions and {}", () => {
    const t = sanitizeTool(
      tool({
        type: "object",
        properties: {
          x: { anyOf: [{ type: "string" }, { type: "integer" }] },
          y: { allOf: [{ $ref: "#/definitions/point" }] },
          z: { type: ["object", "null"], properties: { k: { type: "boolean" } }, required: ["k"] },
          any: {},
        },
        required: ["x", "y", "z", "any"],
        definitions: { point: { type: "object", properties: { lat: { type: "number" } }, required: ["lat"] } },
      }),
    );
    const p = t.params as { properties: Record<string, unknown>; $defs: Record<string, unknown> };
    expect(p.properties.x).toEqual({ oneOf: [{ type: "string" }, { type: "integer" }] });
    expect(p.properties.y).toEqual({ $ref: "#/$defs/point" });
    expect(p.properties.z).toEqual({ oneOf: [{ type: "object", properties: { k: { type: "boolean" } } }, { type: "null" }] });
    expect((p.properties.any as { oneOf: unknown[] }).oneOf).toHaveLength(3);
    expect(p.$defs.point).toEqual({ type: "object", properties: { lat: { type: "number" } } });
  });

  it("no parameters, or an empty schema: a function without arguments", () => {
    expect(sanitizeTool(tool(undefined)).params).toBeUndefined();
    expect(sanitizeTool(tool({})).params).toBeUndefined();
    expect(sanitizeTool(tool({ type: "object", properties: {} })).params).toEqual({ type: "object", properties: {} });
  });

  it.each([
    ["pattern", { type: "string", pattern: "^a" }],
    ["minimum", { type: "number", minimum: 0 }],
    ["maximum", { type: "integer", maximum: 9 }],
    ["multipleOf", { type: "number", multipleOf: 2 }],
    ["uniqueItems", { type: "array", uniqueItems: true }],
    ["not", { type: "string", not: { const: "x" } }],
    ["if", { type: "string", if: {}, then: {} }],
    ["allOf", { allOf: [{ type: "string" }, { type: "string" }] }],
    ["patternProperties", { type: "object", patternProperties: { "^x": {} } }],
    ["format", { type: "string", format: "email" }],
    ["nullable", { type: "string", nullable: true }],
    ["$ref", { $ref: "https://example.com/schema" }],
    ["enum", { enum: [{ a: 1 }] }],
  ])("refuses %s on a strict tool, naming keyword and tool", (keyword, schema) => {
    const e = appError(() => sanitizeTool(tool({ type: "object", properties: { p: schema }, required: ["p"] }, "my_tool", true)));
    expect(e.status).toBe(400);
    expect(e.code).toBe("invalid_tool_schema");
    expect(e.param).toBe("tools");
    expect(e.message).toContain("my_tool");
    expect(e.message).toContain(keyword === "enum" ? "enum" : `"${keyword}"`);
  });

  it.each([
    ["not", { type: "string", not: { const: "x" } }],
    ["patternProperties", { type: "object", patternProperties: { "^x": {} } }],
    ["nullable", { type: "string", nullable: true }],
  ])("refuses %s also on a tool that is not strict", (keyword, schema) => {
    expect(appError(() => sanitizeTool(tool({ type: "object", properties: { p: schema }, required: ["p"] }, "my_tool"))).message).toContain(`"${keyword}"`);
  });

  it("a tool that is not strict gets unenforceable value constraints as guidance in the description", () => {
    const t = sanitizeTool(
      tool({
        type: "object",
        properties: {
          url: { type: "string", format: "uri", description: "Page to fetch" },
          n: { type: "integer", minimum: 1, maximum: 10 },
          id: { type: "string", pattern: "^[A-Z]{3}$" },
          when: { type: "string", format: "date" },
        },
        required: ["url", "n", "id", "when"],
      }),
    );
    const props = (t.params as { properties: Record<string, unknown> }).properties;
    expect(props.url).toEqual({ type: "string", description: "Page to fetch (format: uri)" });
    expect(props.n).toEqual({ type: "integer", description: "(minimum: 1; maximum: 10)" });
    expect(props.id).toEqual({ type: "string", description: "(pattern: ^[A-Z]{3}$)" });
    expect(props.when).toEqual({ type: "string", format: "date" }); // enforced, not described
  });

  it("refuses a non-object root, required names not in properties, bad tool names", () => {
    expect(appError(() => sanitizeTool(tool({ type: "string" }))).code).toBe("invalid_tool_schema");
    expect(appError(() => sanitizeTool(tool({ type: "object", properties: {}, required: ["x"] }))).message).toContain('"x"');
    expect(appError(() => sanitizeTool(tool(undefined, "has space"))).code).toBe("invalid_tool_schema");
    expect(appError(() => sanitizeTool(tool({ type: "object", properties: { a: { type: "string" } }, minProperties: 1 }))).message).toContain(
      "minProperties",
    );
  });
});

describe("stripAddedNulls", () => {
  const schema = {
    type: "object",
    properties: {
      a: { type: "string" },
      b: { type: "number" },
      c: { type: ["string", "null"] },
      nested: { type: "object", properties: { x: { type: "boolean" } } },
      list: { type: "array", items: { $ref: "#/$defs/item" } },
    },
    required: ["a", "nested", "list"],
    $defs: { item: { type: "object", properties: { v: { type: "integer" } } } },
  };
  it("removes the nulls of optional properties, deep, and keeps allowed ones", () => {
    expect(stripAddedNulls({ a: "x", b: null, c: null, nested: { x: null }, list: [{ v: null }, { v: 2 }] }, schema)).toEqual({
      a: "x",
      c: null,
      nested: {},
      list: [{}, { v: 2 }],
    });
  });
  it("sanitizeTool and stripAddedNulls agree on a tool", () => {
    const t = sanitizeTool(tool(schema));
    expect(stripAddedNulls({ a: "x", b: null, c: null, nested: { x: null }, list: [] }, t.original)).toEqual({ a: "x", c: null, nested: {}, list: [] });
  });
});

describe("toLocalFunctions", () => {
  const tools = [tool({ type: "object", properties: { q: { type: "string" } }, required: ["q"] }, "a"), tool(undefined, "b")];
  it("auto offers all, none offers nothing, a name offers one and forces it, required forces", () => {
    expect(Object.keys(toLocalFunctions({ tools, toolChoice: "auto" }).functions!)).toEqual(["a", "b"]);
    expect(toLocalFunctions({ tools, toolChoice: "none" }).functions).toBeUndefined();
    const named = toLocalFunctions({ tools, toolChoice: { name: "b" } });
    expect(Object.keys(named.functions!)).toEqual(["b"]);
    expect(named.force).toBe(true);
    expect(toLocalFunctions({ tools, toolChoice: "required" }).force).toBe(true);
    expect(toLocalFunctions({ tools }).force).toBe(false);
  });
  it("refuses an unknown named tool, duplicate names, and a forced choice without tools", () => {
    expect(appError(() => toLocalFunctions({ tools, toolChoice: { name: "zzz" } })).param).toBe("tool_choice");
    expect(appError(() => toLocalFunctions({ tools: [tools[0]!, tools[0]!] })).code).toBe("invalid_tool_schema");
    expect(appError(() => toLocalFunctions({ toolChoice: "required" })).param).toBe("tool_choice");
  });
  it("checks schemas also with tool_choice none", () => {
    expect(appError(() => toLocalFunctions({ tools: [tool({ type: "object", properties: { p: { type: "string", pattern: "x" } } }, "t", true)], toolChoice: "none" })).code).toBe(
      "invalid_tool_schema",
    );
  });
});

describe("toChatHistory", () => {
  const calls = [
    { id: "call_1", name: "f", arguments: '{"x":1}' },
    { id: "call_2", name: "g", arguments: "{}" },
  ];
  it("keeps plain chats as before", () => {
    expect(
      toChatHistory([
        { role: "system", content: "s" },
        { role: "user", content: [{ type: "text", text: "u" }] },
        { role: "assistant", content: null },
      ]),
    ).toEqual([
      { type: "system", text: "s" },
      { type: "user", text: "u" },
      { type: "model", response: [""] },
    ]);
  });

  it("puts calls and their results (paired by id) into one model item, text first", () => {
    const h = toChatHistory([
      { role: "user", content: "q" },
      { role: "assistant", content: "Checking.", toolCalls: calls },
      { role: "tool", toolCallId: "call_2", content: "two" },
      { role: "tool", toolCallId: "call_1", content: '{"ok":true}' },
    ]);
    expect(h).toEqual([
      { type: "user", text: "q" },
      {
        type: "model",
        response: [
          "Checking.",
          { type: "functionCall", name: "f", params: { x: 1 }, result: { ok: true } },
          { type: "functionCall", name: "g", params: {}, result: "two" },
        ],
      },
    ]);
    expect(endsWithToolResults(h)).toBe(true);
  });

  it("continues the model item with the answer after the results; later calls start a new chunk", () => {
    const h = toChatHistory([
      { role: "user", content: "q" },
      { role: "assistant", content: null, toolCalls: [calls[0]!] },
      { role: "tool", toolCallId: "call_1", content: "one" },
      { role: "assistant", content: "Now g.", toolCalls: [calls[1]!] },
      { role: "tool", toolCallId: "call_2", content: "two" },
      { role: "assistant", content: "Done." },
      { role: "user", content: "thanks" },
    ]);
    expect(h).toHaveLength(3);
    expect(h[1]).toEqual({
      type: "model",
      response: [
        { type: "functionCall", name: "f", params: { x: 1 }, result: "one" },
        "Now g.",
        { type: "functionCall", name: "g", params: {}, result: "two", startsNewChunk: true },
        "Done.",
      ],
    });
    expect(endsWithToolResults(h)).toBe(false);
  });

  it("pairs legacy function calls (no ids) by name", () => {
    const h = toChatHistory([
      { role: "user", content: "q" },
      { role: "assistant", content: null, toolCalls: [{ id: "", name: "f", arguments: "{}" }] },
      { role: "tool", toolCallId: "", name: "f", content: "r" },
    ]);
    expect(h[1]).toEqual({ type: "model", response: [{ type: "functionCall", name: "f", params: {}, result: "r" }] });
  });

  it.each<[string, ChatMessage[], RegExp]>([
    ["an unknown id", [{ role: "assistant", content: null, toolCalls: calls }, { role: "tool", toolCallId: "call_9", content: "" }], /call_9/],
    ["a tool message without calls", [{ role: "user", content: "q" }, { role: "tool", toolCallId: "call_1", content: "" }], /call_1/],
    ["a missing result", [{ role: "assistant", content: null, toolCalls: calls }, { role: "tool", toolCallId: "call_1", content: "" }], /call_2/],
    [
      "two results for one call",
      [
        { role: "assistant", content: null, toolCalls: [calls[0]!] },
        { role: "tool", toolCallId: "call_1", content: "" },
        { role: "tool", toolCallId: "call_1", content: "" },
      ],
      /more than one/,
    ],
  ])("refuses %s", (_, messages, message) => {
    const e = appError(() => toChatHistory(messages));
    expect(e.code).toBe("invalid_tool_message");
    expect(e.param).toBe("messages");
    expect(e.message).toMatch(message);
  });

  it("refuses arguments that are not JSON", () => {
    expect(appError(() => toChatHistory([{ role: "assistant", content: null, toolCalls: [{ id: "c", name: "f", arguments: "{x" }] }])).code).toBe(
      "invalid_tool_arguments",
    );
  });

  it("passes JSON results as values and other text as strings", () => {
    expect(toolResultValue('{"a":1}')).toEqual({ a: 1 });
    expect(toolResultValue("42")).toBe(42);
    expect(toolResultValue("sunny")).toBe("sunny");
    expect(toolResultValue("{not json")).toBe("{not json");
  });
});

describe("checkLocalRequest", () => {
  const base: GenerateRequest = { mode: "chat", messages: [{ role: "user", content: "hi" }], tenantId: "t" };
  it("refuses media, logprobs, n > 1 and response_format with tools", () => {
    const img = appError(() => checkLocalRequest("m1", { ...base, messages: [{ role: "user", content: [{ type: "image", url: "x" }] }] }));
    expect([img.code, img.param, img.message]).toEqual(["model_not_supported", "messages", "The model 'm1' does not accept image input"]);
    const audio = appError(() => checkLocalRequest("m1", { ...base, messages: [{ role: "user", content: [{ type: "audio", data: "", format: "wav" }] }] }));
    expect(audio.message).toContain("audio");
    expect(appError(() => checkLocalRequest("m", { ...base, topLogprobs: 2 })).param).toBe("top_logprobs");
    expect(appError(() => checkLocalRequest("m", { ...base, n: 3 })).message).toBe("n > 1 is not supported by local models");
    const tools = [tool(undefined, "f")];
    expect(appError(() => checkLocalRequest("m", { ...base, tools, grammar: { type: "json_object" } })).param).toBe("response_format");
    expect(() => checkLocalRequest("m", { ...base, tools, toolChoice: "none", grammar: { type: "json_object" } })).not.toThrow();
    expect(() => checkLocalRequest("m", { ...base, n: 1 })).not.toThrow();
  });
});

describe("parseLogitBias", () => {
  it("maps -100 to a ban and checks ids and range", () => {
    expect(parseLogitBias({ "5": -100, "7": 2.5 }, 10)).toEqual([
      [5, "never"],
      [7, 2.5],
    ]);
    expect(appError(() => parseLogitBias({ "10": 1 }, 10)).param).toBe("logit_bias");
    expect(appError(() => parseLogitBias({ abc: 1 }, 10)).param).toBe("logit_bias");
    expect(appError(() => parseLogitBias({ "1": 101 }, 10)).param).toBe("logit_bias");
  });
});

describe("tool_call events", () => {
  it("ids are call_ + 24 base62 characters, and differ", () => {
    const ids = new Set(Array.from({ length: 200 }, newCallId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^call_[A-Za-z0-9]{24}$/);
  });

  it("ArgumentsStream holds trailing whitespace back and drops it at the end", () => {
    const s = new ArgumentsStream();
    expect(["{", '"a"', ": ", '"x', " ", 'y"', "}", "\n\n", "\n\n"].map((c) => s.push(c))).toEqual(["{", '"a"', ":", ' "x', "", ' y"', "}", "", ""]);
    expect(s.text).toBe('{"a": "x y"}');
  });

  function drive(tools: ToolDefinition[], steps: (e: ToolCallEvents) => void) {
    const events: GenerateEvent[] = [];
    let tokens = 0;
    const e = new ToolCallEvents(toLocalFunctions({ tools }), { push: (ev) => events.push(ev) }, () => ++tokens);
    steps(e);
    return events;
  }

  it("streams arguments of tools without optional properties, header first", () => {
    const t = tool({ type: "object", properties: { q: { type: "string" } }, required: ["q"] }, "f");
    const events = drive([t], (e) => {
      for (const c of ['{"q":', '"hi"}', "\n\n\n\n"]) e.onParamsChunk({ callIndex: 0, functionName: "f", paramsChunk: c, done: c.startsWith("\n") });
      e.onCall({ functionName: "f", params: { q: "hi" } });
    });
    expect(events.map((ev) => (ev.type === "tool_call" ? [ev.index, ev.id ? "id" : null, ev.name ?? null, ev.arguments ?? null] : null))).toEqual([
      [0, "id", "f", null],
      [0, null, null, '{"q":'],
      [0, null, null, '"hi"}'],
    ]);
  });

  it("sends the arguments of tools with optional properties whole, nulls stripped; {} for no parameters", () => {
    const t = tool({ type: "object", properties: { q: { type: "string" }, opt: { type: "number" } }, required: ["q"] }, "f");
    const events = drive([t, tool(undefined, "g")], (e) => {
      for (const c of ['{"q":"hi",', '"opt":null}', "\n\n\n\n"]) e.onParamsChunk({ callIndex: 0, functionName: "f", paramsChunk: c, done: false });
      e.onCall({ functionName: "f", params: { q: "hi", opt: null } });
      e.onCall({ functionName: "g", params: undefined });
    });
    const args = events.filter((ev) => ev.type === "tool_call" && ev.arguments !== undefined).map((ev) => (ev as { arguments: string }).arguments);
    expect(args).toEqual(['{"q":"hi"}', "{}"]);
    const headers = events.filter((ev) => ev.type === "tool_call" && ev.id);
    expect(headers.map((h) => (h as { index: number }).index)).toEqual([0, 1]);
  });
});
