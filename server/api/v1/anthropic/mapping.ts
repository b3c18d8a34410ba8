/**
 * Anthropic Messages request → the gateway core's neutral request. Pure: no I/O.
 *
 * - `system` (string or text blocks) becomes the system message.
 * - A user turn's `tool_result` blocks become tool messages (first, so they follow the
 *   assistant's calls as OpenAI-style histories require); its text and images, and any
 *   images a tool returned, become the user message after them. `is_error` is made
 *   visible to the model as an "Error:" prefix, since neither local templates nor
 *   OpenAI-compatible upstreams have a field for it.
 * - An assistant turn's `tool_use` blocks become its tool calls (input → JSON text);
 *   thinking blocks from earlier turns are dropped (no target takes reasoning back).
 * - `cache_control` is accepted and dropped: OpenAI-compatible upstreams and llama.cpp
 *   reuse prompt prefixes without being told.
 */
import { AppError } from "../../../errors";
import type { ChatMessage, ContentPart, ToolChoice } from "../../../inference/types";
import type { GatewayRequest } from "../../../services/gateway/types";
import type { CountTokensRequest, MessagesRequest } from "./schemas";

type Message = MessagesRequest["messages"][number];
type UserBlock = Exclude<Extract<Message, { role: "user" }>["content"], string>[number];
type ImageBlock = Extract<UserBlock, { type: "image" }>;

function imagePart(b: ImageBlock): ContentPart {
  const s = b.source;
  return { type: "image", url: s.type === "base64" ? `data:${s.media_type};base64,${s.data}` : s.url };
}

const joinText = (parts: ContentPart[]): string | ContentPart[] =>
  parts.every((p) => p.type === "text") ? parts.map((p) => (p as { text: string }).text).join("") : parts;

function userTurn(content: Extract<Message, { role: "user" }>["content"]): ChatMessage[] {
  if (typeof content === "string") return [{ role: "user", content }];
  const out: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  for (const b of content) {
    if (b.type === "text") parts.push({ type: "text", text: b.text });
    else if (b.type === "image") parts.push(imagePart(b));
    else {
      // tool_result
      const c = b.content ?? "";
      const blocks = typeof c === "string" ? [{ type: "text" as const, text: c }] : c;
      let text = blocks.flatMap((x) => (x.type === "text" ? [x.text] : [])).join("\n");
      if (b.is_error) text = `Error: ${text}`;
      out.push({ role: "tool", content: text, toolCallId: b.tool_use_id });
      for (const x of blocks) if (x.type === "image") parts.push(imagePart(x));
    }
  }
  if (parts.length) out.push({ role: "user", content: joinText(parts) });
  return out;
}

function assistantTurn(content: Extract<Message, { role: "assistant" }>["content"]): ChatMessage | null {
  if (typeof content === "string") return { role: "assistant", content };
  let text = "";
  const toolCalls = [];
  for (const b of content) {
    if (b.type === "text") text += b.text;
    else if (b.type === "tool_use") toolCalls.push({ id: b.id, name: b.name, arguments: JSON.stringify(b.input) });
  }
  if (!text && !toolCalls.length) return null; // only thinking blocks
  return { role: "assistant", content: text || null, ...(toolCalls.length ? { toolCalls } : {}) };
}

export function toMessages(body: Pick<MessagesRequest, "system" | "messages">): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.system !== undefined) {
    const system = typeof body.system === "string" ? body.system : body.system.map((b) => b.text).join("\n");
    if (system) out.push({ role: "system", content: system });
  }
  for (const m of body.messages) {
    if (m.role === "user") out.push(...userTurn(m.content));
    else {
      const a = assistantTurn(m.content);
      if (a) out.push(a);
    }
  }
  const last = body.messages[body.messages.length - 1]!;
  if (last.role === "assistant" && out[out.length - 1]?.role === "assistant") {
    // Anthropic continues a final assistant text (prefill); neither local chat templates nor
    // OpenAI-compatible upstreams do that reliably, and a fresh turn would be a different answer.
    throw new AppError("invalid", "A final assistant message (prefill) is not supported: end messages with a user turn", {
      code: "unsupported_parameter",
      param: `messages.${body.messages.length - 1}`,
    });
  }
  return out;
}

function toolChoiceOf(c: MessagesRequest["tool_choice"]): ToolChoice | undefined {
  if (!c) return undefined;
  switch (c.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { name: c.name };
  }
}

/** Whether the caller asked to see reasoning (Anthropic shows thinking blocks only then). */
export const wantsThinking = (body: Pick<MessagesRequest, "thinking">) => !!body.thinking && body.thinking.type !== "disabled";

function toolsOf(body: Pick<MessagesRequest, "tools" | "tool_choice">) {
  const choice = toolChoiceOf(body.tool_choice);
  return {
    ...(body.tools?.length ? { tools: body.tools.map((t) => ({ name: t.name, description: t.description, parameters: t.input_schema })) } : {}),
    toolChoice: body.tools?.length ? choice : undefined,
    parallelToolCalls: body.tool_choice && "disable_parallel_tool_use" in body.tool_choice && body.tool_choice.disable_parallel_tool_use ? false : undefined,
  };
}

/** The neutral request for a Messages body. */
export function messagesRequest(body: MessagesRequest): GatewayRequest {
  const userId = body.metadata?.user_id;
  const passthrough: Record<string, unknown> = {};
  // OpenAI-compatible upstreams (vLLM, llama-server, OpenRouter…) take top_k as an extension
  if (body.top_k !== undefined) passthrough.top_k = body.top_k;
  if (userId) passthrough.user = userId;
  return {
    model: body.model,
    stream: !!body.stream,
    mode: "chat",
    messages: toMessages(body),
    ...toolsOf(body),
    maxTokens: body.max_tokens,
    temperature: body.temperature,
    topP: body.top_p,
    topK: body.top_k,
    stop: body.stop_sequences?.length ? body.stop_sequences : undefined,
    grammar: body.output_config?.format ? { type: "json_schema", schema: body.output_config.format.schema, name: "output" } : undefined,
    passthrough: Object.keys(passthrough).length ? passthrough : undefined,
  };
}

/** What count_tokens renders: the same prompt a Messages request with this body would. */
export function countRequest(body: CountTokensRequest): Pick<GatewayRequest, "mode" | "messages" | "tools" | "toolChoice"> {
  const { tools, toolChoice } = toolsOf(body);
  return { mode: "chat", messages: toMessages(body), tools, toolChoice };
}
