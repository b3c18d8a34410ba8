/**
 * The Responses API's part of the OpenAPI document (server/api/v1/openapi.ts): the
 * request is the handler's own zod schema, the answer shapes the ones it builds
 * against (response-schemas.ts).
 */
import { ResponseDeleted, ResponseInputItems, ResponseObject, ResponseStreamEvent } from "./response-schemas";
import { ResponsesRequest } from "./schemas";

export const RESPONSES_SCHEMAS = { ResponsesRequest, Response: ResponseObject, ResponseStreamEvent, ResponseDeleted, ResponseInputItems };

export const RESPONSES_STREAM_NOTE =
  "With `stream: true` the response is `text/event-stream` of named events (`event: <type>`, `data: <ResponseStreamEvent>`), " +
  "numbered by `sequence_number`: `response.created`, `response.in_progress`, then per output item `response.output_item.added`, " +
  "its parts (`response.content_part.added`, `response.output_text.delta`… `.done`, `response.content_part.done`) or call arguments " +
  "(`response.function_call_arguments.delta`… `.done`), `response.output_item.done`; last `response.completed`, `response.incomplete` " +
  "(max_output_tokens, content filter) or `response.failed` (the response so far, with `error`). Built-in tools, `background`, " +
  "`conversation` and `prompt` are refused with a 400 naming them.";
