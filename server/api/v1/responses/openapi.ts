/**
 * The Responses API's part of the OpenAPI document (server/api/v1/openapi.ts): the
 * request is the handler's own zod schema; the answer shapes are described here.
 */
import { z } from "zod";
import { ResponsesRequest } from "./schemas";

const OutputText = z.object({ type: z.literal("output_text"), text: z.string(), annotations: z.array(z.unknown()), logprobs: z.array(z.unknown()) });
const OutputItem = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("message"),
    id: z.string().describe("`msg_…`"),
    status: z.enum(["in_progress", "completed", "incomplete"]),
    role: z.literal("assistant"),
    content: z.array(z.union([OutputText, z.object({ type: z.literal("refusal"), refusal: z.string() })])),
  }),
  z.object({
    type: z.literal("function_call"),
    id: z.string().describe("`fc_…`"),
    call_id: z.string().describe("`call_…`: send it back in a function_call_output item"),
    name: z.string(),
    arguments: z.string().describe("JSON text of the arguments, as the model produced it"),
    status: z.enum(["in_progress", "completed"]),
  }),
  z.object({
    type: z.literal("reasoning"),
    id: z.string().describe("`rs_…`"),
    summary: z.array(z.unknown()),
    content: z.array(z.object({ type: z.literal("reasoning_text"), text: z.string() })).describe("What a reasoning model showed of its reasoning"),
  }),
]);

const ResponseObject = z.object({
  id: z.string().describe("`resp_…`: GET it, DELETE it, or continue from it with previous_response_id (when stored)"),
  object: z.literal("response"),
  created_at: z.number().int(),
  status: z.enum(["in_progress", "completed", "incomplete", "failed"]),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  incomplete_details: z.object({ reason: z.enum(["max_output_tokens", "content_filter"]) }).nullable(),
  model: z.string(),
  output: z.array(OutputItem),
  usage: z
    .object({
      input_tokens: z.number().int(),
      input_tokens_details: z.object({ cached_tokens: z.number().int().describe("Prompt tokens served from a cache (the local KV cache, or the upstream's report)") }),
      output_tokens: z.number().int(),
      output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
      total_tokens: z.number().int(),
    })
    .nullable(),
  previous_response_id: z.string().nullable(),
  store: z.boolean(),
  metadata: z.record(z.string(), z.string()),
}).loose();

const ResponseStreamEvent = z.object({
  type: z.enum([
    "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
    "response.output_text.delta", "response.output_text.done", "response.refusal.delta", "response.refusal.done",
    "response.reasoning_text.delta", "response.reasoning_text.done", "response.function_call_arguments.delta",
    "response.function_call_arguments.done", "response.content_part.done", "response.output_item.done",
    "response.completed", "response.incomplete", "response.failed",
  ]),
  sequence_number: z.number().int().describe("0, 1, 2… in the order sent"),
  output_index: z.number().int().optional(),
  content_index: z.number().int().optional(),
  item_id: z.string().optional(),
  delta: z.string().optional(),
  item: OutputItem.optional(),
  response: ResponseObject.optional(),
}).loose();

const ResponseDeleted = z.object({ id: z.string(), object: z.literal("response.deleted"), deleted: z.literal(true) });
const ResponseInputItems = z.object({
  object: z.literal("list"),
  data: z.array(z.record(z.string(), z.unknown())).describe("The input items as resolved (the previous_response_id chain included), each with an id"),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});

export const RESPONSES_SCHEMAS = { ResponsesRequest, Response: ResponseObject, ResponseStreamEvent, ResponseDeleted, ResponseInputItems };

export const RESPONSES_STREAM_NOTE =
  "With `stream: true` the response is `text/event-stream` of named events (`event: <type>`, `data: <ResponseStreamEvent>`), " +
  "numbered by `sequence_number`: `response.created`, `response.in_progress`, then per output item `response.output_item.added`, " +
  "its parts (`response.content_part.added`, `response.output_text.delta`… `.done`, `response.content_part.done`) or call arguments " +
  "(`response.function_call_arguments.delta`… `.done`), `response.output_item.done`; last `response.completed`, `response.incomplete` " +
  "(max_output_tokens, content filter) or `response.failed` (the response so far, with `error`). Built-in tools, `background`, " +
  "`conversation` and `prompt` are refused with a 400 naming them.";
