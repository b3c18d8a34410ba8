import { describe, expect, it } from "vitest";
import type { GenerateEvent } from "../../../inference/types";
import { zodToGatewayError } from "../../../services/gateway/errors";
import { messagesRequest } from "./mapping";
import { Blocks } from "./messages";
import { MessagesRequest } from "./schemas";

const parse = (body: object) => MessagesRequest.parse({ model: "m", max_tokens: 16, ...body });

describe("Messages request → the neutral request", () => {
  it("maps system blocks, tool results (first, is_error visible, images after), tool_use history, thinking dropped", () => {
    const req = messagesRequest(
      parse({
        system: [{ type: "text", text: "A" }, { type: "text", text: "B", cache_control: { type: "ephemeral" } }],
        tools: [{ name: "t", input_schema: { type: "object" } }],
        tool_choice: { type: "tool", name: "t", disable_parallel_tool_use: true },
        stop_sequences: ["END"],
        top_k: 5,
        metadata: { user_id: "u" },
        messages: [
          { role: "user", content: "q" },
          { role: "assistant", content: [{ type: "thinking", thinking: "hm", signature: "s" }, { type: "tool_use", id: "toolu_1", name: "t", input: { a: 1 } }] },
          {
            role: "user",
            content: [
              { type: "text", text: "and?" },
              { type: "tool_result", tool_use_id: "toolu_1", is_error: true, content: [{ type: "text", text: "boom" }, { type: "image", source: { type: "url", url: "https://x.test/a.png" } }] },
            ],
          },
        ],
      }),
    );
    expect(req.messages).toEqual([
      { role: "system", content: "A\nB" },
      { role: "user", content: "q" },
      { role: "assistant", content: null, toolCalls: [{ id: "toolu_1", name: "t", arguments: '{"a":1}' }] },
      { role: "tool", content: "Error: boom", toolCallId: "toolu_1" },
      { role: "user", content: [{ type: "text", text: "and?" }, { type: "image", url: "https://x.test/a.png" }] },
    ]);
    expect(req).toMatchObject({ toolChoice: { name: "t" }, parallelToolCalls: false, stop: ["END"], topK: 5, maxTokens: 16, passthrough: { top_k: 5, user: "u" } });
    expect(req.tools).toEqual([{ name: "t", description: undefined, parameters: { type: "object" } }]);
  });

  it("base64 images become data: URIs; any → required; a final assistant turn (prefill) is refused", () => {
    const req = messagesRequest(
      parse({
        tools: [{ name: "t", input_schema: { type: "object" } }],
        tool_choice: { type: "any" },
        messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }] }],
      }),
    );
    expect(req.messages).toEqual([{ role: "user", content: [{ type: "image", url: "data:image/png;base64,AAAA" }] }]);
    expect(req.toolChoice).toBe("required");
    expect(() => messagesRequest(parse({ messages: [{ role: "user", content: "q" }, { role: "assistant", content: "The" }] }))).toThrow(/prefill/);
  });

  it("rejects what would change the answer, naming it", () => {
    // as the pipeline reports it: the union branch the caller meant
    const issue = (body: object) => zodToGatewayError(MessagesRequest.safeParse({ model: "m", max_tokens: 1, ...body }).error!).message;
    expect(issue({ messages: [{ role: "user", content: [{ type: "document", source: {} }] }] })).toMatch(/'document' is not supported in user messages/);
    expect(issue({ messages: [{ role: "user", content: "x" }], tools: [{ type: "bash_20250124", name: "bash" }] })).toMatch(/tool type 'bash_20250124'/);
    expect(issue({ messages: [{ role: "user", content: "x" }], tool_choice: { type: "tool", name: "nope" }, tools: [{ name: "t", input_schema: { type: "object" } }] })).toMatch(/not in tools/);
    expect(MessagesRequest.safeParse({ model: "m", messages: [{ role: "user", content: "x" }] }).error?.issues[0]?.message).toBe("max_tokens is required");
  });
});

describe("Blocks: the core's events as Anthropic content blocks", () => {
  const run = (events: GenerateEvent[], thinking = false) => {
    const out: { event: string; data: Record<string, unknown> }[] = [];
    const b = new Blocks((data, event) => out.push({ event: event!, data: data as Record<string, unknown> }), thinking, "base");
    for (const e of events) b.add(e);
    return { out, b };
  };

  it("holds a call's arguments until its name is known, and closes text before it", () => {
    const { out } = run([
      { type: "delta", text: "Hi", tokens: 1 },
      { type: "tool_call", index: 0, arguments: '{"a":' },
      { type: "tool_call", index: 0, id: "call_x", name: "t" },
      { type: "tool_call", index: 0, arguments: "1}" },
    ]);
    expect(out.map((e) => [e.event, e.data.index, (e.data.delta as { partial_json?: string } | undefined)?.partial_json])).toEqual([
      ["content_block_start", 0, undefined],
      ["content_block_delta", 0, undefined],
      ["content_block_stop", 0, undefined],
      ["content_block_start", 1, undefined],
      ["content_block_delta", 1, '{"a":'],
      ["content_block_delta", 1, "1}"],
    ]);
    expect(out[3]!.data.content_block).toEqual({ type: "tool_use", id: "toolu_x", name: "t", input: {} });
  });

  it("a fragment for a call already closed fails the stream instead of losing arguments", () => {
    expect(() =>
      run([
        { type: "tool_call", index: 0, id: "a", name: "t", arguments: "{" },
        { type: "tool_call", index: 1, id: "b", name: "u", arguments: "{}" },
        { type: "tool_call", index: 0, arguments: "}" },
      ]),
    ).toThrow(/interleaved/);
  });

  it("reasoning only with thinking on; other choices ignored", () => {
    expect(run([{ type: "reasoning", text: "hm" }]).out).toEqual([]);
    expect(run([{ type: "reasoning", text: "hm" }], true).out[0]!.data.content_block).toEqual({ type: "thinking", thinking: "", signature: "" });
    expect(run([{ type: "delta", text: "x", tokens: 1, choice: 1 }]).out).toEqual([]);
  });
});
