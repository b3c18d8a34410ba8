/**
 * The /api/v1 request shapes (OpenAI-compatible), the single source for validation,
 * TypeScript types and the OpenAPI document. Unknown fields are tolerated — OpenAI
 * clients send extras, and remote upstreams get them passed through; what a target
 * cannot honour (e.g. image parts or logprobs on a local model) is refused with a 400
 * naming it where the request meets the target, never silently ignored.
 */
import { z } from "zod";

const unsupported = (name: string, why = "is not supported by this gateway") =>
  z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && v !== null) ctx.addIssue({ code: "custom", message: `${name} ${why}` });
    });

const TextPart = z.object({
  type: z.literal("text"),
  text: z.string(),
  /** prompt-caching hint of Anthropic-style upstreams (OpenRouter, LiteLLM…): forwarded as given */
  cache_control: z.record(z.string(), z.unknown()).optional(),
});
const RefusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() });

/** An image by URL or inline as a `data:` URI; forwarded to the backend as given. */
const ImagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({
    url: z
      .string()
      .refine((u) => /^(https?:\/\/|data:image\/[\w.+-]+;base64,)/i.test(u), "image_url.url must be an http(s) URL or a data:image/…;base64, URI"),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
const AudioPart = z.object({
  type: z.literal("input_audio"),
  input_audio: z.object({ data: z.string().min(1, "input_audio.data must be base64 audio"), format: z.string().min(1) }),
});

/** Parts a role may carry; any other part type gets a 400 naming it and what the role accepts. */
function parts<const O extends readonly [z.ZodObject, ...z.ZodObject[]]>(options: O) {
  const names = options.map((o) => (o.shape as { type: z.ZodLiteral<string> }).type.value).join(", ");
  return z
    .array(
      z.discriminatedUnion("type", options as never as [z.ZodObject, ...z.ZodObject[]], {
        error: (iss) =>
          iss.code === "invalid_union" && (iss as { note?: string }).note === "No matching discriminator"
            ? `content part type '${String((iss.input as { type?: unknown } | undefined)?.type)}' is not supported here (${names})`
            : undefined,
      }) as unknown as z.ZodType<z.output<O[number]>, z.input<O[number]>>,
    )
    .min(1, "content must not be an empty array");
}

const TextContent = z.union([z.string(), parts([TextPart])]);
const UserContent = z.union([z.string(), parts([TextPart, ImagePart, AudioPart])]);
const AssistantContent = z.union([z.string(), parts([TextPart, RefusalPart])]);

export const ToolCallSchema = z.object({
  id: z.string().min(1, "tool_calls[].id is required"),
  type: z.literal("function").default("function"),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const FunctionCall = z.object({ name: z.string().min(1), arguments: z.string() });

const SystemMessage = z.object({ role: z.enum(["system", "developer"]), content: TextContent, name: z.string().optional() });
const UserMessage = z.object({ role: z.literal("user"), content: UserContent, name: z.string().optional() });
const AssistantMessage = z
  .object({
    role: z.literal("assistant"),
    content: AssistantContent.nullish(),
    name: z.string().optional(),
    refusal: z.string().nullish(),
    tool_calls: z.array(ToolCallSchema).nullish(),
    function_call: FunctionCall.nullish(),
  })
  .refine((m) => m.content != null || m.tool_calls?.length || m.function_call || m.refusal, {
    message: "an assistant message needs content, tool_calls or function_call",
    path: ["content"],
  });
const ToolMessage = z.object({
  role: z.literal("tool"),
  content: TextContent,
  tool_call_id: z.string({ message: "tool_call_id is required on tool messages" }).min(1, "tool_call_id is required on tool messages"),
});
/** The legacy function-result message (`functions`/`function_call`). */
const FunctionMessage = z.object({ role: z.literal("function"), name: z.string().min(1), content: z.string().nullable() });

export const ChatMessage = z.discriminatedUnion("role", [SystemMessage, UserMessage, AssistantMessage, ToolMessage, FunctionMessage], {
  error: () => "role must be one of system, developer, user, assistant, tool, function",
});

const FunctionDefinition = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "function names are 1-64 letters, digits, underscores or dashes"),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().nullish(),
});

const Tool = z.object({ type: z.literal("function", { message: "only tools of type 'function' are supported" }), function: FunctionDefinition });

const ToolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }) }),
]);

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
  n: z.number().int().min(1).max(128).nullish(),
  logit_bias: z.record(z.string().regex(/^\d+$/, "logit_bias keys are token ids"), z.number().min(-100).max(100)).nullish(),
  user: z.string().optional(),
};

export const ChatCompletionRequest = z.looseObject({
  ...sampling,
  messages: z.array(ChatMessage).min(1, "messages must contain at least one message"),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  response_format: ResponseFormat.nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  tools: z.array(Tool).max(128, "at most 128 tools").nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  /** legacy function calling (deprecated by OpenAI, still sent by older clients) */
  functions: z.array(FunctionDefinition).max(128).nullish(),
  function_call: z.union([z.enum(["none", "auto"]), z.object({ name: z.string().min(1) })]).nullish(),
})
  .refine((b) => !(b.tools?.length && b.functions?.length), { message: "send tools or the legacy functions, not both", path: ["functions"] })
  .refine((b) => b.tool_choice == null || typeof b.tool_choice === "string" || !!b.tools?.some((t) => t.function.name === (b.tool_choice as { function: { name: string } }).function.name), {
    message: "tool_choice names a function that is not in tools",
    path: ["tool_choice"],
  })
  .refine((b) => b.tool_choice == null || b.tool_choice === "none" || !!b.tools?.length, { message: "tool_choice needs tools", path: ["tool_choice"] });
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
