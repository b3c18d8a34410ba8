/**
 * The Responses API's answer shapes: the response object, its output items, the
 * stream events, deletion and input-item listing. The handler (responses.ts) builds
 * against these types, the OpenAPI document (openapi.ts) describes them, and the
 * integration tests parse real answers with them (server/test/v1-wire.ts).
 */
import { z } from "zod";

export const OutputText = z.object({ type: z.literal("output_text"), text: z.string(), annotations: z.array(z.unknown()), logprobs: z.array(z.unknown()) });
export const RefusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() });
export const ReasoningText = z.object({ type: z.literal("reasoning_text"), text: z.string() });
const ItemStatus = z.enum(["in_progress", "completed", "incomplete"]);

export const MessageOut = z.object({
  type: z.literal("message"),
  id: z.string().describe("`msg_…`"),
  status: ItemStatus,
  role: z.literal("assistant"),
  content: z.array(z.union([OutputText, RefusalPart])),
});
export const FunctionCallOut = z.object({
  type: z.literal("function_call"),
  id: z.string().describe("`fc_…`"),
  call_id: z.string().describe("`call_…`: send it back in a function_call_output item"),
  name: z.string(),
  arguments: z.string().describe("JSON text of the arguments, as the model produced it"),
  status: z.enum(["in_progress", "completed"]),
});
export const ReasoningOut = z.object({
  type: z.literal("reasoning"),
  id: z.string().describe("`rs_…`"),
  summary: z.array(z.unknown()),
  content: z.array(ReasoningText).describe("What a reasoning model showed of its reasoning"),
});
export const OutputItem = z.discriminatedUnion("type", [MessageOut, FunctionCallOut, ReasoningOut]);

export const ResponseUsage = z.object({
  input_tokens: z.number().int(),
  input_tokens_details: z.object({ cached_tokens: z.number().int().describe("Prompt tokens served from a cache (the local KV cache, or the upstream's report)") }),
  output_tokens: z.number().int(),
  output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
  total_tokens: z.number().int(),
});

export const ResponseObject = z.object({
  id: z.string().describe("`resp_…`: GET it, DELETE it, or continue from it with previous_response_id (when stored)"),
  object: z.literal("response"),
  created_at: z.number().int(),
  status: z.enum(["in_progress", "completed", "incomplete", "failed"]),
  background: z.literal(false),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  incomplete_details: z.object({ reason: z.enum(["max_output_tokens", "content_filter"]) }).nullable(),
  instructions: z.string().nullable(),
  max_output_tokens: z.number().int().nullable(),
  model: z.string(),
  output: z.array(OutputItem),
  parallel_tool_calls: z.boolean(),
  previous_response_id: z.string().nullable(),
  reasoning: z.object({ effort: z.string().nullable(), summary: z.null() }),
  store: z.boolean(),
  temperature: z.number().nullable(),
  text: z.object({ format: z.object({ type: z.enum(["text", "json_object", "json_schema"]) }).loose().describe("As requested") }),
  tool_choice: z.union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), name: z.string() })]),
  tools: z.array(
    z.object({
      type: z.literal("function"),
      name: z.string(),
      description: z.string().nullable(),
      parameters: z.record(z.string(), z.unknown()).nullable(),
      strict: z.boolean().nullable(),
    }),
  ),
  top_p: z.number().nullable(),
  truncation: z.enum(["auto", "disabled"]),
  usage: ResponseUsage.nullable(),
  user: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
});

const seq = { sequence_number: z.number().int().describe("0, 1, 2… in the order sent") };
const inPart = { item_id: z.string(), output_index: z.number().int(), content_index: z.number().int() };
const ev = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.object({ type: z.literal(type), ...seq, ...shape });
const withResponse = <T extends string>(type: T) => ev(type, { response: ResponseObject });
const StreamPart = z.union([OutputText, RefusalPart, ReasoningText]);

/** The data of one stream event (its SSE event name equals `type`), one shape per type. */
export const ResponseStreamEvent = z.discriminatedUnion("type", [
  withResponse("response.created"),
  withResponse("response.in_progress"),
  ev("response.output_item.added", { output_index: z.number().int(), item: OutputItem }),
  ev("response.content_part.added", { ...inPart, part: StreamPart }),
  ev("response.output_text.delta", { ...inPart, delta: z.string(), logprobs: z.array(z.unknown()) }),
  ev("response.output_text.done", { ...inPart, text: z.string().describe("The part's whole text"), logprobs: z.array(z.unknown()) }),
  ev("response.refusal.delta", { ...inPart, delta: z.string() }),
  ev("response.refusal.done", { ...inPart, refusal: z.string() }),
  ev("response.reasoning_text.delta", { ...inPart, delta: z.string() }),
  ev("response.reasoning_text.done", { ...inPart, text: z.string() }),
  ev("response.function_call_arguments.delta", { item_id: z.string(), output_index: z.number().int(), delta: z.string() }),
  ev("response.function_call_arguments.done", { item_id: z.string(), output_index: z.number().int(), name: z.string(), arguments: z.string() }),
  ev("response.content_part.done", { ...inPart, part: StreamPart }),
  ev("response.output_item.done", { output_index: z.number().int(), item: OutputItem }),
  withResponse("response.completed"),
  withResponse("response.incomplete"),
  withResponse("response.failed"),
]);

/** The stream's last event when a failure comes before the writer could send `response.failed`. */
export const ResponseStreamError = z.object({
  type: z.literal("error"),
  code: z.string(),
  message: z.string(),
  param: z.string().nullable(),
  sequence_number: z.number().int(),
});

export const ResponseDeleted = z.object({ id: z.string(), object: z.literal("response.deleted"), deleted: z.literal(true) });
export const ResponseInputItems = z.object({
  object: z.literal("list"),
  data: z.array(z.record(z.string(), z.unknown())).describe("The input items as resolved (the previous_response_id chain included), each with an id"),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});

export type OutputTextPart = z.input<typeof OutputText>;
export type RefusalPart = z.input<typeof RefusalPart>;
export type MessageOut = z.input<typeof MessageOut>;
export type FunctionCallOut = z.input<typeof FunctionCallOut>;
export type ReasoningOut = z.input<typeof ReasoningOut>;
export type OutputItem = z.input<typeof OutputItem>;
export type ResponseUsage = z.input<typeof ResponseUsage>;
export type ResponseObject = z.input<typeof ResponseObject>;
export type ResponseStreamEvent = z.input<typeof ResponseStreamEvent>;
export type ResponseStreamError = z.input<typeof ResponseStreamError>;
export type ResponseDeleted = z.input<typeof ResponseDeleted>;
export type ResponseInputItems = z.input<typeof ResponseInputItems>;
