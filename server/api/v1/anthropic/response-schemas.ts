/**
 * The Messages API's answer shapes: the message, its stream events, the error and
 * the token count. The handlers (messages.ts, errors.ts) build against these types,
 * the OpenAPI document (openapi.ts) describes them, and the integration tests parse
 * real answers with them (server/test/v1-wire.ts).
 */
import { z } from "zod";

export const AnthropicUsage = z.object({
  input_tokens: z.number().int().describe("Prompt tokens not read from a cache"),
  output_tokens: z.number().int(),
  cache_creation_input_tokens: z.number().int().describe("Always 0: prompt caching is the backends' own, nothing is written on request"),
  cache_read_input_tokens: z.number().int().describe("Prompt tokens the backend served from its prompt cache, when it reports them"),
});

export const TextBlock = z.object({ type: z.literal("text"), text: z.string() });
export const ToolUseBlock = z.object({
  type: z.literal("tool_use"),
  id: z.string().describe("`toolu_…`: send it back as tool_use_id of the tool_result"),
  name: z.string(),
  input: z.record(z.string(), z.unknown()).describe("The arguments, parsed"),
});
export const ThinkingBlock = z
  .object({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().describe("Empty: reasoning is not signed") })
  .describe("Only with `thinking` enabled and a target that shows its reasoning");
export const ContentBlock = z.discriminatedUnion("type", [TextBlock, ToolUseBlock, ThinkingBlock]);

const StopReason = z
  .enum(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"])
  .describe("stop_sequence on local models; a remote target that stopped on a stop sequence reports end_turn (OpenAI-compatible upstreams do not say which one matched)");

export const AnthropicMessage = z.object({
  id: z.string().describe("`msg_…`"),
  type: z.literal("message"),
  role: z.literal("assistant"),
  model: z.string().describe("The model (or alias) requested"),
  content: z.array(ContentBlock),
  stop_reason: StopReason,
  stop_sequence: z.string().nullable(),
  usage: AnthropicUsage,
});

export const AnthropicError = z.object({
  type: z.literal("error"),
  error: z.object({
    type: z.enum(["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error", "overloaded_error"]),
    message: z.string(),
  }),
  request_id: z.string().optional(),
});

export const AnthropicStreamEvent = z
  .discriminatedUnion("type", [
    z.object({
      type: z.literal("message_start"),
      message: AnthropicMessage.extend({ stop_reason: StopReason.nullable() }).describe("The message so far: no content, no stop reason, usage zero"),
    }),
    z.object({ type: z.literal("content_block_start"), index: z.number().int(), content_block: ContentBlock }),
    z.object({
      type: z.literal("content_block_delta"),
      index: z.number().int(),
      delta: z.discriminatedUnion("type", [
        z.object({ type: z.literal("text_delta"), text: z.string() }),
        z.object({ type: z.literal("input_json_delta"), partial_json: z.string() }),
        z.object({ type: z.literal("thinking_delta"), thinking: z.string() }),
      ]),
    }),
    z.object({ type: z.literal("content_block_stop"), index: z.number().int() }),
    z.object({ type: z.literal("message_delta"), delta: z.object({ stop_reason: StopReason, stop_sequence: z.string().nullable() }), usage: AnthropicUsage }),
    z.object({ type: z.literal("message_stop") }),
    z.object({ type: z.literal("ping") }),
    AnthropicError,
  ])
  .describe("The data of one event; the SSE event name equals `type`");

export const CountTokensResult = z.object({ input_tokens: z.number().int() });

export type AnthropicUsage = z.input<typeof AnthropicUsage>;
export type ContentBlock = z.input<typeof ContentBlock>;
export type AnthropicMessage = z.input<typeof AnthropicMessage>;
export type AnthropicStreamEvent = z.input<typeof AnthropicStreamEvent>;
export type AnthropicError = z.input<typeof AnthropicError>;
export type CountTokensResult = z.input<typeof CountTokensResult>;
