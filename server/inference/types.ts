/**
 * The one interface inference sits behind, and the dialect-neutral request it
 * takes. The local llama.cpp pool and remote OpenAI-compatible backends implement
 * InferenceEngine; the gateway core (server/services/gateway) drives them; wire
 * dialects (OpenAI Chat Completions today, Responses and Anthropic Messages next)
 * only map their JSON to and from these types.
 */

/** A piece of message content. Image and audio parts are forwarded as given (URL or `data:` URI, base64). */
export type ContentPart =
  /** `cacheControl`: an Anthropic-style `cache_control` hint, forwarded to remote upstreams untouched */
  | { type: "text"; text: string; cacheControl?: Record<string, unknown> }
  | { type: "image"; url: string; detail?: string }
  | { type: "audio"; data: string; format: string };

/** Plain text, or typed parts (kept apart so a string reaches remote upstreams as a string). */
export type Content = string | ContentPart[];

/** A tool call in a conversation's history, or a finished call of an answer. */
export interface ToolCall {
  /** the call id (`call_…`); empty for the legacy `function_call` shape, which has none */
  id: string;
  name: string;
  /** JSON text of the arguments, exactly as the model produced it */
  arguments: string;
}

export type ChatMessage =
  | { role: "system"; content: Content; name?: string }
  | { role: "user"; content: Content; name?: string }
  | { role: "assistant"; content: Content | null; name?: string; toolCalls?: ToolCall[]; refusal?: string | null }
  /** the result of a tool call; `toolCallId` pairs it with the call (`name` for the legacy function role) */
  | { role: "tool"; content: Content; toolCallId: string; name?: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object */
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export type GrammarSpec = { type: "json_object" } | { type: "json_schema"; schema: Record<string, unknown>; name?: string; strict?: boolean };

export interface GenerateRequest {
  /** chat: messages through the model's chat template; completion: raw prompt text */
  mode: "chat" | "completion";
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  /** sample from the k most likely tokens (Anthropic `top_k`; remote upstreams get it as `top_k` pass-through) */
  topK?: number;
  seed?: number;
  stop?: string[];
  /** OpenAI semantics: penalise tokens by how often (frequency) / whether (presence) they already appeared */
  frequencyPenalty?: number;
  presencePenalty?: number;
  grammar?: GrammarSpec;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** false: at most one call per answer */
  parallelToolCalls?: boolean;
  /**
   * The caller spoke OpenAI's legacy `functions`/`function_call`: remote upstreams get that
   * shape, and answers come back in it (one call, no id).
   */
  legacyFunctions?: boolean;
  /** choices to generate (OpenAI `n`) */
  n?: number;
  /** token id → bias, OpenAI `logit_bias` */
  logitBias?: Record<string, number>;
  logprobs?: boolean;
  topLogprobs?: number;
  /**
   * Request fields the core does not model (`user`, `metadata`, `store`, `reasoning_effort`,
   * vendor extensions…): merged into the body sent to remote OpenAI-compatible upstreams.
   */
  passthrough?: Record<string, unknown>;
  /** for fair queueing across tenants, and for per-tenant caches */
  tenantId: string;
  /**
   * The caller wants the whole answer at once (a non-streaming request): a remote upstream is
   * asked for it non-streaming. Engines still report it as events.
   */
  whole?: boolean;
  /** the caller's API key (null for console tokens): scopes the local prompt cache with LOCAL_PROMPT_CACHE=key */
  apiKeyId?: string | null;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** prompt tokens served from a cache (upstream's `prompt_tokens_details.cached_tokens`, or the local KV cache) */
  cachedPromptTokens?: number;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/**
 * What a generation streams. `choice` is the choice index (only remote upstreams asked
 * for `n > 1` produce others); absent means 0.
 */
export type GenerateEvent =
  | { type: "delta"; text: string; /** tokens this delta covers */ tokens: number; choice?: number }
  /** a model's refusal text (OpenAI `refusal`), streamed like content */
  | { type: "refusal"; text: string; choice?: number }
  /** reasoning text a reasoning model shows (`reasoning_content` of vLLM, DeepSeek, llama-server; `reasoning` of OpenRouter) */
  | { type: "reasoning"; text: string; choice?: number }
  /**
   * A fragment of a tool call, as the model/upstream produced it: the same `index` for every
   * fragment of one call, `id` and `name` once (usually first), `arguments` pieces in order.
   */
  | { type: "tool_call"; index: number; id?: string; name?: string; arguments?: string; tokens?: number; choice?: number }
  /** token log probabilities (OpenAI's `logprobs` object of one chunk), passed through from upstream */
  | { type: "logprobs"; logprobs: { content?: unknown[] | null; refusal?: unknown[] | null }; choice?: number }
  /** one choice finished (before `done`; `done.finishReason` is choice 0's) */
  | { type: "finish"; finishReason: FinishReason; choice: number }
  /** `stopSequence`: which of the request's `stop` strings ended it, when the engine knows (local models) */
  | { type: "done"; finishReason: FinishReason; usage: Usage; stopSequence?: string };

export interface EmbedResult {
  vectors: number[][];
  usage: { promptTokens: number };
}

export interface InferenceEngine {
  /**
   * Streams a generation. Aborting `signal` stops it promptly and frees its slot;
   * the iterator then ends without a "done" event (the caller counts the tokens it saw).
   */
  generate(model: string, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  embed(model: string, inputs: string[], tenantId: string, signal: AbortSignal): Promise<EmbedResult>;
  /**
   * Optional: refuses before any generation (and before a stream starts) what this engine
   * can tell is wrong with the request, e.g. a prompt that does not fit the model's
   * context (AppError invalid, code `context_length_exceeded`).
   */
  check?(model: string, req: GenerateRequest): Promise<void>;
}

/** The text of message content (image and audio parts contribute nothing). */
export function contentText(content: Content | null | undefined): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  let s = "";
  for (const p of content) if (p.type === "text") s += p.text;
  return s;
}

/** Whether any message carries an image part. */
export function hasImages(messages: readonly ChatMessage[] | undefined): boolean {
  return !!messages?.some((m) => Array.isArray(m.content) && m.content.some((p) => p.type === "image"));
}

/** Whether any message carries an audio part. */
export function hasAudio(messages: readonly ChatMessage[] | undefined): boolean {
  return !!messages?.some((m) => Array.isArray(m.content) && m.content.some((p) => p.type === "audio"));
}
