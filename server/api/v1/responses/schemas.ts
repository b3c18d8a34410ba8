/**
 * POST /api/v1/responses (OpenAI's Responses API): the request shape, the single
 * source for validation, types and the OpenAPI document. Like the chat schemas,
 * unknown fields are tolerated; what this gateway cannot do — OpenAI's hosted
 * built-in tools, background runs, server-side conversations, prompt templates —
 * is a 400 naming it, never silently ignored.
 */
import { z } from "zod";

/** OpenAI-hosted tools: they run inside OpenAI, so no gateway in front of other models can offer them. */
export const BUILT_IN_TOOLS = [
  "web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11", "file_search",
  "computer_use", "computer_use_preview", "code_interpreter", "image_generation", "mcp", "local_shell", "shell",
  "apply_patch", "custom",
] as const;

const refuse = (name: string, why: string) =>
  z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && v !== null && v !== false) ctx.addIssue({ code: "custom", message: `${name} ${why}` });
    });

const InputText = z.object({ type: z.literal("input_text"), text: z.string() });
const OutputText = z.object({ type: z.literal("output_text"), text: z.string() }).loose();
const Refusal = z.object({ type: z.literal("refusal"), refusal: z.string() });
const InputImage = z.object({
  type: z.literal("input_image"),
  image_url: z
    .string({ message: "input_image.image_url is required (file_id images are not supported by this gateway)" })
    .refine((u) => /^(https?:\/\/|data:image\/[\w.+-]+;base64,)/i.test(u), "input_image.image_url must be an http(s) URL or a data:image/…;base64, URI"),
  detail: z.enum(["auto", "low", "high"]).optional(),
});

const PART_TYPES = "input_text, input_image, output_text, refusal";
const ContentPart = z.discriminatedUnion("type", [InputText, InputImage, OutputText, Refusal], {
  error: (iss) =>
    iss.code === "invalid_union"
      ? `content part type '${String((iss.input as { type?: unknown } | undefined)?.type)}' is not supported (${PART_TYPES})`
      : undefined,
});

export const MessageItem = z.object({
  type: z.literal("message").optional(),
  id: z.string().optional(),
  role: z.enum(["user", "system", "developer", "assistant"], { message: "role must be one of user, system, developer, assistant" }),
  content: z.union([z.string(), z.array(ContentPart).min(1, "content must not be an empty array")]),
  status: z.string().optional(),
});

export const FunctionCallItem = z.object({
  type: z.literal("function_call"),
  id: z.string().optional(),
  call_id: z.string().min(1, "function_call.call_id is required"),
  name: z.string().min(1),
  arguments: z.string(),
  status: z.string().optional(),
});

export const FunctionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  id: z.string().optional(),
  call_id: z.string().min(1, "function_call_output.call_id is required"),
  output: z.union([z.string(), z.array(z.union([InputText, InputImage]))]),
  status: z.string().optional(),
});

/** Reasoning from an earlier answer, sent back by agents: accepted and not shown to the model (its text was its own). */
export const ReasoningItem = z.object({ type: z.literal("reasoning") }).loose();

const ITEM_TYPES = "message, function_call, function_call_output, reasoning";
export const InputItem = z.discriminatedUnion("type", [MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem], {
  error: (iss) =>
    iss.code === "invalid_union"
      ? `input item type '${String((iss.input as { type?: unknown } | undefined)?.type)}' is not supported (${ITEM_TYPES})`
      : undefined,
});
export type MessageItem = z.infer<typeof MessageItem>;
export type FunctionCallItem = z.infer<typeof FunctionCallItem>;
export type FunctionCallOutputItem = z.infer<typeof FunctionCallOutputItem>;
export type ReasoningItem = z.infer<typeof ReasoningItem>;
export type InputItem = z.infer<typeof InputItem>;

const FunctionTool = z.object({
  type: z.literal("function"),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "function names are 1-64 letters, digits, underscores or dashes"),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const Tool = z.discriminatedUnion("type", [FunctionTool], {
  error: (iss) => {
    if (iss.code !== "invalid_union") return undefined;
    const type = String((iss.input as { type?: unknown } | undefined)?.type);
    return (BUILT_IN_TOOLS as readonly string[]).includes(type)
      ? `the built-in tool '${type}' is not supported by this gateway: only tools of type 'function' are`
      : `tool type '${type}' is not supported: only tools of type 'function' are`;
  },
});

const ToolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), name: z.string().min(1) }),
], { message: "tool_choice must be 'none', 'auto', 'required' or {type: 'function', name} (built-in tool choices are not supported)" });

const TextFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
  }),
], { message: "text.format.type must be text, json_object or json_schema" });

export const ResponsesRequest = z
  .looseObject({
    model: z.string({ message: "model is required" }).min(1, "model is required"),
    input: z.union([z.string(), z.array(InputItem).min(1, "input must not be an empty array")], {
      message: "input must be a string or an array of input items",
    }),
    instructions: z.string().nullish(),
    tools: z.array(Tool).max(128, "at most 128 tools").nullish(),
    tool_choice: ToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    max_output_tokens: z.number().int().min(1).max(1_000_000).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    text: z.object({ format: TextFormat.optional() }).loose().nullish(),
    metadata: z.record(z.string().max(64), z.string().max(512)).refine((m) => Object.keys(m).length <= 16, "metadata holds at most 16 keys").nullish(),
    user: z.string().optional(),
    stream: z.boolean().nullish(),
    store: z.boolean().nullish(),
    previous_response_id: z.string().min(1).nullish(),
    truncation: z.enum(["auto", "disabled"]).nullish(),
    reasoning: z.object({ effort: z.string().nullish() }).loose().nullish(),
    background: refuse("background", "is not supported by this gateway: send the request and wait for it (or stream it)"),
    conversation: refuse("conversation", "is not supported by this gateway: continue with previous_response_id"),
    prompt: refuse("prompt", "(stored prompt templates) is not supported by this gateway"),
  })
  .refine(
    (b) => b.tool_choice == null || typeof b.tool_choice === "string" || !!b.tools?.some((t) => t.name === (b.tool_choice as { name: string }).name),
    { message: "tool_choice names a function that is not in tools", path: ["tool_choice"] },
  )
  .refine((b) => b.tool_choice == null || b.tool_choice === "none" || b.tool_choice === "auto" || !!b.tools?.length, {
    message: "tool_choice needs tools",
    path: ["tool_choice"],
  });
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;
