/**
 * The OpenAPI 3.1 document for /api/v1, generated from the same zod schemas the
 * handlers validate with: a field added to a request schema appears here. Response
 * shapes are the zod the handlers build their answers against (response-schemas.ts).
 */
import "server-only";
import { z } from "zod";
import { RESPONSES_SCHEMAS, RESPONSES_STREAM_NOTE } from "./responses/openapi";
import { anthropicPaths, anthropicSchemas } from "./anthropic/openapi";
import { ChatCompletion, ChatCompletionChunk, Completion, Embeddings, ErrorEnvelope, Model, ModelList } from "./response-schemas";
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest } from "./schemas";

const schemas = {
  ChatCompletionRequest,
  CompletionRequest,
  EmbeddingRequest,
  ChatCompletion,
  ChatCompletionChunk,
  Completion,
  Embeddings,
  Model,
  ModelList,
  Error: ErrorEnvelope,
  ...RESPONSES_SCHEMAS,
  ...anthropicSchemas,
};

function jsonSchema(schema: z.ZodType) {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

const ref = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof schemas) => ({ "application/json": { schema: ref(name) } });

const ERRORS: Record<string, string> = {
  "400":
    "Malformed JSON or a parameter that fails validation (param names it); a parameter or content the target " +
    "cannot honour (`model_not_supported`: e.g. an image for a text-only model; `unsupported_parameter`); or the " +
    "remote backend refused the request (`backend_rejected_request`, with its message)",
  "401": "Missing, unknown, expired or revoked API key; or, for a key that requires signed requests, signature_required / signature_invalid / signature_expired / signature_replayed",
  "403": "Key lacks the scope or the model, the tenant is suspended, or the caller's address is outside an IP allowlist (ip_not_allowed)",
  "404": "Unknown model; or (Responses API) a response id that is not this tenant's, was deleted or expired (`response_not_found`, `previous_response_not_found`)",
  "413": "Request body larger than the limit",
  "429":
    "Over a limit; wait Retry-After seconds. `code` says which: `rate_limit_exceeded` (requests or tokens per minute, " +
    "of the key or its tenant), `concurrency_limit_exceeded` (too many requests running at once), `budget_exceeded` " +
    "(the monthly token budget is used up; Retry-After points at the start of next month, UTC), `model_overloaded` " +
    "(the model's queue is full)",
  "503":
    "The model could not be loaded or is not downloaded; or (`rate_limiter_unavailable`) the limiter's Redis is " +
    "unreachable and the gateway is configured to fail closed",
};

/** Sent on every answer to a caller with such a limit, as OpenAI does (reset: e.g. "1s", "6m0s"). */
const RATE_LIMIT_HEADERS = Object.fromEntries(
  (["requests", "tokens"] as const).flatMap((what) => [
    [`x-ratelimit-limit-${what}`, { schema: { type: "integer" }, description: `The ${what}-per-minute limit that binds tightest (key or tenant)` }],
    [`x-ratelimit-remaining-${what}`, { schema: { type: "integer" }, description: `${what} left in the sliding minute` }],
    [`x-ratelimit-reset-${what}`, { schema: { type: "string" }, description: "Time until the minute's usage has fully expired" }],
  ]),
);
const budgetWarning = {
  "x-switchyard-budget-warning": {
    schema: { type: "string" },
    description: "Present once a monthly token budget (key or tenant) is past its warning threshold",
  },
};

const errorResponses = (codes: string[]) =>
  Object.fromEntries(
    codes.map((c) => [
      c,
      { description: ERRORS[c], content: json("Error"), ...(c === "429" ? { headers: { "retry-after": { schema: { type: "integer" } }, ...RATE_LIMIT_HEADERS } } : {}) },
    ]),
  );

const sseNote =
  "With `stream: true` the response is `text/event-stream`: one `data: <chunk JSON>` event per token group, " +
  "then `data: [DONE]`. A failure after the stream started ends it with one `data: {\"error\":{…}}` event. " +
  "Tool calls stream as `delta.tool_calls` fragments: the same `index` per call, `id`, `type` and `function.name` " +
  "once, `function.arguments` pieces in order; several calls have distinct indexes; the choice ends with " +
  "`finish_reason: \"tool_calls\"`.";

export function buildOpenApi(serverUrl: string) {
  const post = (summary: string, req: keyof typeof schemas, res: keyof typeof schemas, streamChunk?: keyof typeof schemas, note = sseNote) => ({
    summary,
    ...(streamChunk ? { description: note } : {}),
    security: [{ bearer: [] }, { apiKey: [] }],
    requestBody: { required: true, content: json(req) },
    responses: {
      "200": {
        description: "OK",
        content: {
          ...json(res),
          ...(streamChunk ? { "text/event-stream": { schema: { type: "string", description: `SSE of ${streamChunk}` } } } : {}),
        },
        headers: {
          "x-request-id": { schema: { type: "string" }, description: "Yours when you sent one, else ours" },
          ...RATE_LIMIT_HEADERS,
          ...budgetWarning,
        },
      },
      ...errorResponses(["400", "401", "403", "404", "413", "429", "503"]),
    },
  });
  const limited = ["429", "503"];
  const byId = (summary: string, res: keyof typeof schemas) => ({
    summary,
    security: [{ bearer: [] }, { apiKey: [] }],
    parameters: [{ name: "response_id", in: "path", required: true, schema: { type: "string" } }],
    responses: {
      "200": { description: "OK", content: json(res), headers: RATE_LIMIT_HEADERS },
      ...errorResponses(["401", "403", "404", ...limited]),
    },
  });
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchyard API",
      version: "1.0.0",
      description:
        "OpenAI-compatible API of a Switchyard gateway, and Anthropic's Messages API (`/messages`). Authenticate with `Authorization: Bearer sk-…` or `X-API-Key: sk-…`. " +
        "Keys with signed requests on also need `X-Switchyard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<METHOD>.<path with base path>.<hex SHA-256 of the body>\")>` (see the README). " +
        "Errors use the envelope `{\"error\":{\"message\",\"type\",\"param\",\"code\"}}`, except on `/messages`, which answers in Anthropic's shape.",
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API key (sk-…) or a console access token" },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
      schemas: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, jsonSchema(s)])),
    },
    paths: {
      "/chat/completions": { post: post("Create a chat completion", "ChatCompletionRequest", "ChatCompletion", "ChatCompletionChunk") },
      "/completions": { post: post("Create a text completion (legacy)", "CompletionRequest", "Completion", "Completion") },
      "/embeddings": { post: post("Create embeddings", "EmbeddingRequest", "Embeddings") },
      "/responses": { post: post("Create a response (OpenAI Responses API)", "ResponsesRequest", "Response", "ResponseStreamEvent", RESPONSES_STREAM_NOTE) },
      "/responses/{response_id}": {
        get: byId("Retrieve a stored response (this tenant's, until it expires)", "Response"),
        delete: byId("Delete a stored response", "ResponseDeleted"),
      },
      "/responses/{response_id}/input_items": {
        get: {
          ...byId("List a stored response's input items", "ResponseInputItems"),
          parameters: [
            { name: "response_id", in: "path", required: true, schema: { type: "string" } },
            { name: "order", in: "query", schema: { type: "string", enum: ["asc", "desc"], default: "desc" } },
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
            { name: "after", in: "query", schema: { type: "string" }, description: "An item id: list the items after it" },
          ],
        },
      },
      ...anthropicPaths,
      "/models": {
        get: {
          summary: "List the models and the tenant's aliases this key may use (aliases have owned_by \"switchyard:alias\")",
          security: [{ bearer: [] }, { apiKey: [] }],
          responses: {
            "200": { description: "OK", content: json("ModelList"), headers: RATE_LIMIT_HEADERS },
            ...errorResponses(["401", "403", ...limited]),
          },
        },
      },
      "/models/{model}": {
        get: {
          summary: "Retrieve a model",
          security: [{ bearer: [] }, { apiKey: [] }],
          parameters: [{ name: "model", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": { description: "OK", content: json("Model"), headers: RATE_LIMIT_HEADERS },
            ...errorResponses(["401", "403", "404", ...limited]),
          },
        },
      },
    },
  };
}
