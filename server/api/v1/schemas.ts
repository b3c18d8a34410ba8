/**
 * The /api/v1 request shapes (OpenAI-compatible), the single source for validation,
 * TypeScript types and (later) the OpenAPI document. Unknown fields are tolerated,
 * as OpenAI clients send extras; parameters we cannot honour are refused with a
 * 400 that names them, never silently ignored.
 */
import { z } from "zod";

const unsupported = (name: string, why = "is not supported by this gateway") =>
  z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && v !== null) ctx.addIssue({ code: "custom", message: `${name} ${why}` });
    });

const TextPart = z.object({ type: z.literal("text"), text: z.string() });

const Content = z.union([
  z.string(),
  z.array(
    z.union([
      TextPart,
      z.object({ type: z.string() }).transform((p, ctx) => {
        ctx.addIssue({ code: "custom", message: `content part type '${p.type}' is not supported (only 'text')` });
        return z.NEVER;
      }),
    ]),
  ).min(1),
]);

export const ChatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant"], {
    message: "role must be one of system, developer, user, assistant (tool messages are not supported)",
  }),
  content: Content,
  name: z.string().optional(),
});

const Stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4, "stop accepts at most 4 sequences")]);

const ResponseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()),
      strict: z.boolean().nullish(),
    }),
  }),
]);

const sampling = {
  model: z.string({ message: "model is required" }).min(1, "model is required"),
  max_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: Stop.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  n: z.number().int().refine((n) => n === 1, "n must be 1: this gateway returns one choice per request").nullish(),
  logit_bias: unsupported("logit_bias"),
  user: z.string().optional(),
};

export const ChatCompletionRequest = z.looseObject({
  ...sampling,
  messages: z.array(ChatMessage).min(1, "messages must contain at least one message"),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  response_format: ResponseFormat.nullish(),
  logprobs: z.boolean().refine((v) => !v, "logprobs is not supported by this gateway").nullish(),
  top_logprobs: unsupported("top_logprobs"),
  tools: unsupported("tools", "(function calling) is not supported yet"),
  tool_choice: unsupported("tool_choice", "(function calling) is not supported yet"),
  functions: unsupported("functions", "(function calling) is not supported yet"),
  function_call: unsupported("function_call", "(function calling) is not supported yet"),
  audio: unsupported("audio"),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const CompletionRequest = z.looseObject({
  ...sampling,
  prompt: z.union([
    z.string(),
    z.array(z.string()).length(1, "prompt arrays must hold exactly one string (batched prompts are not supported)"),
  ]),
  echo: z.boolean().refine((v) => !v, "echo is not supported by this gateway").nullish(),
  suffix: unsupported("suffix"),
  best_of: z.number().int().refine((n) => n === 1, "best_of must be 1").nullish(),
  logprobs: unsupported("logprobs"),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

export const EmbeddingRequest = z.looseObject({
  model: z.string({ message: "model is required" }).min(1, "model is required"),
  input: z.union([
    z.string().min(1, "input must not be empty"),
    z.array(z.string().min(1, "input strings must not be empty")).min(1, "input must not be empty").max(2048),
  ], { message: "input must be a string or an array of strings (token arrays are not supported)" }),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: unsupported("dimensions"),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

/** Flattens string-or-parts content to text. */
export function contentText(content: z.infer<typeof Content>): string {
  return typeof content === "string" ? content : content.map((p) => (p as { text: string }).text).join("");
}
