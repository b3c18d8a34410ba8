import { describe, expect, it } from "vitest";
import { ChatCompletionChunk } from "../api/v1/response-schemas";
import { ResponseStreamEvent } from "../api/v1/responses/response-schemas";
import { routeFiles, routeOf } from "./v1-server";
import { takeWireViolations, wireChecker, wireMismatch } from "./v1-wire";

const chunk = {
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  system_fingerprint: null,
  choices: [{ index: 0, delta: { content: "hi" }, logprobs: null, finish_reason: null }],
};

describe("the /v1 wire check", () => {
  it("accepts an exact chunk and names an unknown, a missing or a mistyped field", () => {
    expect(wireMismatch(ChatCompletionChunk, chunk)).toBeNull();
    expect(wireMismatch(ChatCompletionChunk, { ...chunk, choices: [{ ...chunk.choices[0], delta: { content: "hi", contnet: "x" } }] })).toBe(
      "$.choices.0.delta.contnet is not in the schema",
    );
    const { created: _created, ...missing } = chunk;
    expect(wireMismatch(ChatCompletionChunk, missing)).toMatch(/^created: /);
    expect(wireMismatch(ChatCompletionChunk, { ...chunk, created: "1" })).toMatch(/^created: /);
  });

  it("holds each Responses stream event to its own type's fields", () => {
    const delta = { type: "response.output_text.delta", sequence_number: 3, item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hi", logprobs: [] };
    expect(wireMismatch(ResponseStreamEvent, delta)).toBeNull();
    expect(wireMismatch(ResponseStreamEvent, { ...delta, text: "Hi" })).toBe("$.text is not in the schema");
    const { item_id: _id, ...noItem } = delta;
    expect(wireMismatch(ResponseStreamEvent, noItem)).toMatch(/^item_id: /);
  });

  it("checks each SSE event and the JSON error envelope by route", () => {
    const enc = new TextEncoder();
    const sse = wireChecker("POST", "/api/v1/messages", 200, "text/event-stream; charset=utf-8");
    sse.write(enc.encode('event: ping\ndata: {"type":"ping"}\n\nevent: message_stop\ndata: {"type":"pi'));
    sse.write(enc.encode('ng"}\n\n'));
    sse.end();
    expect(takeWireViolations()).toEqual([expect.stringContaining("event name message_stop is not the data's type")]);
    const json = wireChecker("POST", "/api/v1/embeddings", 400, "application/json");
    json.write(enc.encode(JSON.stringify({ error: { message: "m", type: "invalid_request_error", param: null, code: null } })));
    json.end();
    expect(takeWireViolations()).toEqual([]);
    const notOurs = wireChecker("GET", "/metrics", 200, "text/plain");
    notOurs.write(enc.encode("# HELP"));
    notOurs.end();
    expect(takeWireViolations()).toEqual([]);
  });
});

describe("the /v1 test server's route table", () => {
  it("is every route file under app/api/v1 and app/metrics", () => {
    expect(routeFiles()).toEqual(expect.arrayContaining(["api/v1/chat/completions/route.ts", "api/v1/[...path]/route.ts", "api/v1/responses/[id]/input_items/route.ts", "metrics/route.ts"]));
    expect(routeFiles().every((f) => f.startsWith("api/v1/") || f === "metrics/route.ts")).toBe(true);
  });

  it("reads folder names as Next does", () => {
    expect(routeOf("api/v1/models/[...model]/route.ts").pattern.test("/api/v1/models/org/name")).toBe(true);
    expect(routeOf("api/v1/responses/[id]/route.ts").pattern.test("/api/v1/responses/a/b")).toBe(false);
    expect(routeOf("api/v1/openapi.json/route.ts").pattern.test("/api/v1/openapiXjson")).toBe(false);
  });
});
