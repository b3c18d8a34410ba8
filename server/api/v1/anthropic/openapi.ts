/**
 * The Messages API's part of the OpenAPI document (server/api/v1/openapi.ts): request
 * schemas are the handlers' own zod (schemas.ts), responses and stream events the
 * zod the handlers build against (response-schemas.ts).
 */
import { AnthropicError, AnthropicMessage, AnthropicStreamEvent, CountTokensResult } from "./response-schemas";
import { CountTokensRequest, MessagesRequest } from "./schemas";

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
