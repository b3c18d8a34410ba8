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
    expect(Object.keys(doc.paths)).toEqual(["/chat/completions", "/completions", "/embeddings", "/messages", "/messages/count_tokens", "/models", "/models/{model}"]);
    // the Messages API from its own zod
    const messages = doc.components.schemas.MessagesRequest as { properties: Record<string, unknown>; required: string[] };
    for (const field of ["model", "messages", "max_tokens", "system", "tools", "tool_choice", "stop_sequences", "thinking", "stream"]) expect(messages.properties).toHaveProperty(field);
    expect(messages.required).toEqual(expect.arrayContaining(["model", "messages", "max_tokens"]));
    for (const s of ['"tool_use"', '"tool_result"', '"input_schema"', '"is_error"']) expect(JSON.stringify(messages)).toContain(s);
  });
});
