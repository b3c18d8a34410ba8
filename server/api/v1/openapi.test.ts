import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApi } from "./openapi";

describe("OpenAPI document", () => {
  const doc = buildOpenApi("/llm/api/v1");

  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    // and the validator does reject a broken one
    const { info: _info, ...broken } = structuredClone(doc);
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  it("is generated from the handlers' zod schemas", () => {
    const chat = doc.components.schemas.ChatCompletionRequest as { properties: Record<string, unknown>; required: string[] };
    for (const field of ["model", "messages", "max_completion_tokens", "response_format", "stream_options", "seed", "stop", "tools", "tool_choice", "parallel_tool_calls"]) {
      expect(chat.properties).toHaveProperty(field);
    }
    expect(chat.required).toEqual(expect.arrayContaining(["model", "messages"]));
    expect(doc.servers).toEqual([{ url: "/llm/api/v1" }]);
    // tool messages, assistant tool calls and image parts are documented from the same schemas
    const text = JSON.stringify(chat);
    for (const s of ['"tool_call_id"', '"tool_calls"', '"image_url"', '"input_audio"']) expect(text).toContain(s);
    // every public route, and nothing else
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/chat/completions", "/completions", "/embeddings", "/messages", "/messages/count_tokens", "/models", "/models/{model}",
      "/responses", "/responses/{response_id}", "/responses/{response_id}/input_items",
    ]);
  });

  it("describes the Responses API from its zod schema", () => {
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/responses", "/responses/{response_id}", "/responses/{response_id}/input_items"]));
    const req = doc.components.schemas.ResponsesRequest as { properties: Record<string, unknown>; required: string[] };
    for (const field of ["model", "input", "instructions", "tools", "tool_choice", "max_output_tokens", "text", "previous_response_id", "store", "metadata"]) {
      expect(req.properties).toHaveProperty(field);
    }
    expect(req.required).toEqual(expect.arrayContaining(["model", "input"]));
    const text = JSON.stringify(req);
    for (const s of ['"function_call_output"', '"call_id"', '"input_image"', '"json_schema"']) expect(text).toContain(s);
  });

  it("describes the Messages API from its own zod", () => {
    const messages = doc.components.schemas.MessagesRequest as { properties: Record<string, unknown>; required: string[] };
    for (const field of ["model", "messages", "max_tokens", "system", "tools", "tool_choice", "stop_sequences", "thinking", "stream"]) expect(messages.properties).toHaveProperty(field);
    expect(messages.required).toEqual(expect.arrayContaining(["model", "messages", "max_tokens"]));
    for (const s of ['"tool_use"', '"tool_result"', '"input_schema"', '"is_error"']) expect(JSON.stringify(messages)).toContain(s);
  });
});
