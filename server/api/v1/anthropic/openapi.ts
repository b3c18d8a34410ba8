/**
 * The Messages API's part of the OpenAPI document (server/api/v1/openapi.ts): request
 * schemas are the handlers' own zod (schemas.ts), responses and stream events are
 * described here with zod too.
 */
import { z } from "zod";
import { CountTokensRequest, MessagesRequest } from "./schemas";

const AnthropicUsage = z.object({
  input_tokens: z.number().int().describe("Prompt tokens not read from a cache"),
  output_tokens: z.number().int(),
  cache_creation_input_tokens: z.number().int().describe("Always 0: prompt caching is the backends' own, nothing is written on request"),
  cache_read_input_tokens: z.number().int().describe("Prompt tokens the backend served from its prompt cache, when it reports them"),
});

const ContentBlock = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({
    type: z.literal("tool_use"),
    id: z.string().describe("`toolu_…`: send it back as tool_use_id of the tool_result"),
    name: z.string(),
    input: z.record(z.string(), z.unknown()).describe("The arguments, parsed"),
  }),
  z.object({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().describe("Empty: reasoning is not signed") }).describe("Only with `thinking` enabled and a target that shows its reasoning"),
]);

const AnthropicMessage = z.object({
  id: z.string().describe("`msg_…`"),
  type: z.literal("message"),
  role: z.literal("assistant"),
  model: z.string().describe("The model (or alias) requested"),
  content: z.array(ContentBlock),
  stop_reason: z
    .enum(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"])
    .describe("stop_sequence on local models; a remote target that stopped on a stop sequence reports end_turn (OpenAI-compatible upstreams do not say which one matched)"),
  stop_sequence: z.string().nullable(),
  usage: AnthropicUsage,
});

const AnthropicStreamEvent = z
  .object({
    type: z.enum(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop", "ping", "error"]),
  })
  .loose()
  .describe("The data of one event; the SSE event name equals `type`");

const AnthropicError = z.object({
  type: z.literal("error"),
  error: z.object({
    type: z.enum(["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error", "overloaded_error"]),
    message: z.string(),
  }),
  request_id: z.string().optional(),
});

const CountTokensResult = z.object({ input_tokens: z.number().int() });

export const anthropicSchemas = {
  MessagesRequest,
  CountTokensRequest,
  AnthropicMessage,
  AnthropicStreamEvent,
  AnthropicError,
  CountTokensResult,
};

const ref = (name: keyof typeof anthropicSchemas) => ({ "application/json": { schema: { $ref: `#/components/schemas/${name}` } } });

const streamNote =
  "Anthropic's Messages API. Send the key as `x-api-key` (or `Authorization: Bearer`); `anthropic-version`, " +
  "`anthropic-beta` and `?beta=true` are accepted. `model` goes through the tenant's aliases, so `claude-…` names " +
  "can be mapped onto any local or remote target. With `stream: true` the answer is `text/event-stream` of named " +
  "events: `message_start`, `ping`, then per content block `content_block_start` / `content_block_delta` " +
  "(`text_delta`, `input_json_delta`, `thinking_delta`) / `content_block_stop` with indexes 0, 1, 2…, then " +
  "`message_delta` (stop_reason, usage) and `message_stop`; `ping` again whenever the model is quiet for 5 s. " +
  "A failure after the start is one `error` event. Errors use Anthropic's shape; an overloaded model or alias is 529 `overloaded_error`.";

const ANTHROPIC_ERRORS: Record<string, string> = {
  "400": "invalid_request_error: a field fails validation, an unsupported block type, tool or prefill, or content the target cannot take",
  "401": "authentication_error: missing, unknown, expired or revoked key (or a bad request signature)",
  "403": "permission_error: scope, model, IP allowlist, or a suspended tenant",
  "404": "not_found_error: unknown model",
  "413": "request_too_large",
  "429": "rate_limit_error: over a limit of the key or tenant; wait Retry-After seconds",
  "500": "api_error",
  "529": "overloaded_error: the model's queue is full, or no target of the alias is healthy (the SDKs retry it)",
};

const errors = (codes: string[]) =>
  Object.fromEntries(
    codes.map((c) => [c, { description: ANTHROPIC_ERRORS[c], content: ref("AnthropicError"), ...(c === "429" ? { headers: { "retry-after": { schema: { type: "integer" } } } } : {}) }]),
  );

const security = [{ apiKey: [] }, { bearer: [] }];

export const anthropicPaths = {
  "/messages": {
    post: {
      summary: "Create a message (Anthropic Messages API)",
      description: streamNote,
      security,
      requestBody: { required: true, content: ref("MessagesRequest") },
      responses: {
        "200": {
          description: "OK",
          content: { ...ref("AnthropicMessage"), "text/event-stream": { schema: { type: "string", description: "SSE of AnthropicStreamEvent" } } },
          headers: { "x-request-id": { schema: { type: "string" } } },
        },
        ...errors(["400", "401", "403", "404", "413", "429", "500", "529"]),
      },
    },
  },
  "/messages/count_tokens": {
    post: {
      summary: "Count a message's input tokens",
      description:
        "Exact for local models (the prompt rendered through the model's chat template with its tools, tokenized by its tokenizer); " +
        "an estimate (~4 characters a token) for remote targets, which have no counting endpoint. `x-switchyard-token-count` says which. " +
        "Counts against the key's requests per minute; bills no tokens.",
      security,
      requestBody: { required: true, content: ref("CountTokensRequest") },
      responses: {
        "200": {
          description: "OK",
          content: ref("CountTokensResult"),
          headers: { "x-switchyard-token-count": { schema: { type: "string", enum: ["exact", "estimate"] } } },
        },
        ...errors(["400", "401", "403", "404", "429", "529"]),
      },
    },
  },
};
