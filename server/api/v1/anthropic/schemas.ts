/**
 * Anthropic Messages API request shapes (POST /api/v1/messages and
 * /messages/count_tokens): validation, TypeScript types and the OpenAPI document
 * from one place. Unknown top-level fields and block fields (cache_control,
 * citations, service_tier, context_management…) are tolerated, as Anthropic
 * clients send them routinely; unknown *block types* and server tools are refused
 * with a 400 naming them, because dropping them would change the answer.
 */
import { z } from "zod";

const CacheControl = z.looseObject({ type: z.string() }).nullish().describe("Accepted and ignored: OpenAI-compatible upstreams and local models cache prefixes on their own");

const TextBlock = z.looseObject({ type: z.literal("text"), text: z.string(), cache_control: CacheControl });

const ImageSource = z.discriminatedUnion(
  "type",
  [
    z.object({
      type: z.literal("base64"),
      media_type: z.string().regex(/^image\/[\w.+-]+$/, "source.media_type must be an image type (image/png, image/jpeg, …)"),
      data: z.string().min(1, "source.data must be base64 image data"),
    }),
    z.object({ type: z.literal("url"), url: z.string().regex(/^https?:\/\//i, "source.url must be an http(s) URL") }),
  ],
  { error: () => "image source type must be 'base64' or 'url' (file sources are not supported)" },
);
const ImageBlock = z.looseObject({ type: z.literal("image"), source: ImageSource, cache_control: CacheControl });

const ToolUseBlock = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string().min(1, "tool_use.id is required"),
  name: z.string().min(1, "tool_use.name is required"),
  input: z.record(z.string(), z.unknown()),
  cache_control: CacheControl,
});

/** A content block type, with a 400 naming any other type and what is accepted here. */
function blocks<const O extends readonly [z.ZodObject, ...z.ZodObject[]]>(options: O, where: string) {
  const names = options.map((o) => (o.shape as { type: z.ZodLiteral<string> }).type.value).join(", ");
  return z.array(
    z.discriminatedUnion("type", options as never as [z.ZodObject, ...z.ZodObject[]], {
      error: (iss) =>
        iss.code === "invalid_union" && (iss as { note?: string }).note === "No matching discriminator"
          ? `content block type '${String((iss.input as { type?: unknown } | undefined)?.type)}' is not supported in ${where} (${names})`
          : undefined,
    }) as unknown as z.ZodType<z.output<O[number]>, z.input<O[number]>>,
  );
}

const ToolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1, "tool_result.tool_use_id is required"),
  content: z.union([z.string(), blocks([TextBlock, ImageBlock], "tool_result content")]).optional(),
  is_error: z.boolean().nullish(),
  cache_control: CacheControl,
});
/** Reasoning from an earlier turn: accepted in history (clients send it back) and not shown to the model again. */
const ThinkingBlock = z.looseObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().optional() });
const RedactedThinkingBlock = z.looseObject({ type: z.literal("redacted_thinking"), data: z.string() });

const UserContent = z.union([
  z.string(),
  blocks([TextBlock, ImageBlock, ToolResultBlock], "user messages").min(1, "content must not be an empty array"),
]);
const AssistantContent = z.union([
  z.string(),
  blocks([TextBlock, ToolUseBlock, ThinkingBlock, RedactedThinkingBlock], "assistant messages"),
]);

export const AnthropicMessage = z.discriminatedUnion(
  "role",
  [z.object({ role: z.literal("user"), content: UserContent }), z.object({ role: z.literal("assistant"), content: AssistantContent })],
  { error: () => "role must be 'user' or 'assistant' (put system prompts in the top-level system field)" },
);

const Tool = z.looseObject({
  // custom tools only: Anthropic's server tools (web_search_…, bash_…, text_editor_…) run on Anthropic's side
  type: z
    .string()
    .nullish()
    .superRefine((t, ctx) => {
      if (t != null && t !== "custom") ctx.addIssue({ code: "custom", message: `tool type '${t}' is not supported (only custom tools with an input_schema)` });
    }),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, "tool names are 1-128 letters, digits, underscores or dashes"),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal("object", { message: "input_schema.type must be 'object'" }) }),
  cache_control: CacheControl,
});

const ToolChoice = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal("tool"), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal("none") }),
  ],
  { error: () => "tool_choice.type must be one of auto, any, tool, none" },
);

const Thinking = z
  .looseObject({ type: z.string(), budget_tokens: z.number().int().optional() })
  .describe("Reasoning the target shows comes back as thinking blocks when enabled; a target without reasoning ignores it");

const common = {
  model: z.string({ message: "model is required" }).min(1, "model is required"),
  messages: z.array(AnthropicMessage).min(1, "messages must contain at least one message"),
  system: z.union([z.string(), blocks([TextBlock], "system")]).optional(),
  tools: z.array(Tool).max(128, "at most 128 tools").optional(),
  tool_choice: ToolChoice.optional(),
  thinking: Thinking.optional(),
};

const choiceNamesATool = (b: { tools?: { name: string }[]; tool_choice?: z.infer<typeof ToolChoice> }) =>
  b.tool_choice?.type !== "tool" || !!b.tools?.some((t) => t.name === (b.tool_choice as { name: string }).name);
const choiceNeedsTools = (b: { tools?: unknown[]; tool_choice?: z.infer<typeof ToolChoice> }) =>
  b.tool_choice === undefined || b.tool_choice.type === "none" || b.tool_choice.type === "auto" || !!b.tools?.length;

export const MessagesRequest = z
  .looseObject({
    ...common,
    max_tokens: z.number({ message: "max_tokens is required" }).int().min(1).max(1_000_000),
    stop_sequences: z.array(z.string().min(1)).max(16, "at most 16 stop_sequences").optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    top_k: z.number().int().min(1).optional(),
    metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
    stream: z.boolean().optional(),
    output_config: z
      .looseObject({
        effort: z.string().nullish().describe("Accepted and ignored"),
        format: z
          .object({ type: z.literal("json_schema", { message: "output_config.format.type must be 'json_schema'" }), schema: z.record(z.string(), z.unknown()) })
          .nullish()
          .describe("Structured output: enforced by grammar on local models, sent as response_format json_schema to remote ones"),
      })
      .optional(),
  })
  .refine(choiceNamesATool, { message: "tool_choice names a tool that is not in tools", path: ["tool_choice", "name"] })
  .refine(choiceNeedsTools, { message: "tool_choice needs tools", path: ["tool_choice"] });
export type MessagesRequest = z.infer<typeof MessagesRequest>;

export const CountTokensRequest = z
  .looseObject(common)
  .refine(choiceNamesATool, { message: "tool_choice names a tool that is not in tools", path: ["tool_choice", "name"] })
  .refine(choiceNeedsTools, { message: "tool_choice needs tools", path: ["tool_choice"] });
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;
