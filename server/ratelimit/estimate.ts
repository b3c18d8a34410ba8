/**
 * The up-front token estimate a request reserves against TPM and the monthly
 * budget, before the model has seen it. Settled with the real count when the
 * request ends (limiter.ts), so the estimate only has to be cheap and not wildly
 * low: no tokenizer (the model may not even be loaded yet), ~4 characters a token,
 * plus the most the request may generate.
 */

/** Reserved for a chat completion that sets no max_tokens (it is settled to the real count afterwards). */
export const DEFAULT_CHAT_COMPLETION_ESTIMATE = 256;
/** OpenAI's legacy completions endpoint generates 16 tokens unless told otherwise. */
const LEGACY_COMPLETION_DEFAULT = 16;
const CHARS_PER_TOKEN = 4;
/** role markers and separators a chat template adds per message */
const PER_MESSAGE_OVERHEAD = 4;
/** an image part: OpenAI bills 85 (low detail) to ~1,100 tokens; a 1024×1024 high-detail image is 765 */
const IMAGE_TOKENS = 765;

function textLength(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + textLength(x), 0);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o.text === "string") return o.text.length;
    if (o.type === "image_url") return IMAGE_TOKENS * CHARS_PER_TOKEN;
    if (o.type === "input_audio") return String((o.input_audio as { data?: unknown } | undefined)?.data ?? "").length / 8;
    // a message: its content, plus the tool calls an assistant made (names and argument JSON)
    let n = "content" in o ? textLength(o.content) : 0;
    if (Array.isArray(o.tool_calls)) n += JSON.stringify(o.tool_calls).length;
    if (o.function_call) n += JSON.stringify(o.function_call).length;
    return n;
  }
  return 0;
}

export function estimateTokens(endpoint: string, body: unknown): number {
  if (!body || typeof body !== "object") return 0;
  const b = body as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);
  if (endpoint === "embeddings") return Math.ceil(textLength(b.input) / CHARS_PER_TOKEN);
  let prompt = 0;
  if (Array.isArray(b.messages)) {
    // tool schemas are rendered into the prompt by every chat template that supports tools
    const schemas = b.tools ?? b.functions;
    const toolChars = Array.isArray(schemas) ? JSON.stringify(schemas).length : 0;
    prompt = Math.ceil((textLength(b.messages) + toolChars) / CHARS_PER_TOKEN) + PER_MESSAGE_OVERHEAD * b.messages.length;
  } else if (b.prompt !== undefined) {
    prompt = Math.ceil(textLength(b.prompt) / CHARS_PER_TOKEN) + 1;
  } else {
    return 0;
  }
  const max =
    num(b.max_completion_tokens) ??
    num(b.max_tokens) ??
    (endpoint === "completions" ? LEGACY_COMPLETION_DEFAULT : DEFAULT_CHAT_COMPLETION_ESTIMATE);
  return prompt + max;
}
