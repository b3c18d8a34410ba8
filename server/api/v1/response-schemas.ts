/**
 * The /api/v1 answer shapes of the OpenAI dialect (chat, completions, embeddings,
 * models, the error envelope): the one definition the handlers build against
 * (their literals are typed with these, so a field that drifts is a type error),
 * the OpenAPI document describes (openapi.ts) and the integration tests parse real
 * answers with (server/test/v1-wire.ts).
 */
import { z } from "zod";

export const Usage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int() }).optional().describe("When the backend reports prompt tokens served from its cache"),
});
const Finish = z.enum(["stop", "length", "tool_calls", "function_call", "content_filter"]).nullable();
const Logprobs = z
  .object({ content: z.array(z.unknown()).nullable(), refusal: z.array(z.unknown()).nullable() })
  .nullable()
  .describe("Token log probabilities, as the remote backend sent them (local models refuse logprobs)");
/** A chunk's log probabilities are the upstream chunk's own, either list possibly absent. */
const ChunkLogprobs = z
  .object({ content: z.array(z.unknown()).nullable().optional(), refusal: z.array(z.unknown()).nullable().optional() })
  .nullable()
  .describe("This chunk's token log probabilities, as the remote backend sent them");
const ToolCall = z.object({
  id: z.string().describe("`call_…`: send it back as tool_call_id with the tool's result"),
  type: z.literal("function"),
  function: z.object({ name: z.string(), arguments: z.string().describe("JSON text of the arguments, as the model produced it") }),
});
const ToolCallDelta = z.object({
  index: z.number().int().describe("Which call this fragment belongs to; the same for every fragment of one call"),
  id: z.string().optional().describe("Once per call, on its first fragment (upstreams may send arguments first)"),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string().optional().describe("The next piece of the arguments JSON") }),
});

export const ChatCompletionMessage = z.object({
  role: z.literal("assistant"),
  content: z.string().nullable().describe("null when the answer is only tool calls"),
  refusal: z.string().nullable(),
  reasoning_content: z.string().optional().describe("What a remote reasoning model showed of its reasoning (vLLM/DeepSeek `reasoning_content`, OpenRouter `reasoning`)"),
  tool_calls: z.array(ToolCall).optional(),
  function_call: z.object({ name: z.string(), arguments: z.string() }).optional().describe("Legacy `functions` requests only"),
});

export const ChatCompletion = z.object({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: ChatCompletionMessage,
      logprobs: Logprobs,
      finish_reason: Finish,
    }),
  ),
  usage: Usage,
  system_fingerprint: z.null(),
});

export const ChatCompletionDelta = z.object({
  role: z.literal("assistant").optional(),
  content: z.string().optional(),
  refusal: z.string().optional(),
  reasoning_content: z.string().optional(),
  tool_calls: z.array(ToolCallDelta).optional(),
  function_call: z.object({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
});

export const ChatCompletionChunk = z.object({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.null(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: ChatCompletionDelta,
      logprobs: ChunkLogprobs,
      finish_reason: Finish,
    }),
  ),
  usage: Usage.nullable().optional().describe("Only with stream_options.include_usage: null on every chunk but the last, which has no choices"),
});

export const Completion = z.object({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(z.object({ index: z.number().int(), text: z.string(), logprobs: z.null(), finish_reason: Finish })),
  usage: Usage.optional(),
});

export const Embeddings = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({
      object: z.literal("embedding"),
      index: z.number().int(),
      embedding: z.union([z.array(z.number()), z.string().describe("base64 of little-endian float32s")]),
    }),
  ),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
});

export const Model = z.object({ id: z.string(), object: z.literal("model"), created: z.number().int(), owned_by: z.string() });
export const ModelList = z.object({ object: z.literal("list"), data: z.array(Model) });

export const ErrorEnvelope = z.object({
  error: z.object({
    message: z.string(),
    type: z.string().describe("invalid_request_error, authentication_error, permission_error, rate_limit_error, service_unavailable_error, server_error"),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});

export type Usage = z.input<typeof Usage>;
export type ChatCompletion = z.input<typeof ChatCompletion>;
export type ChatCompletionMessage = z.input<typeof ChatCompletionMessage>;
export type ChatCompletionDelta = z.input<typeof ChatCompletionDelta>;
export type ChatCompletionChunk = z.input<typeof ChatCompletionChunk>;
export type Completion = z.input<typeof Completion>;
export type Embeddings = z.input<typeof Embeddings>;
export type Model = z.input<typeof Model>;
export type ModelList = z.input<typeof ModelList>;
export type ErrorEnvelope = z.input<typeof ErrorEnvelope>;
