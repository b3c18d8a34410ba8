/**
 * The one interface inference sits behind. The local llama.cpp pool implements it
 * now; remote OpenAI-compatible backends implement it later; /api/v1 handlers
 * only ever see this.
 */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export type GrammarSpec = { type: "json_object" } | { type: "json_schema"; schema: Record<string, unknown> };

export interface GenerateRequest {
  /** chat: messages through the model's chat template; completion: raw prompt text */
  mode: "chat" | "completion";
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  /** OpenAI semantics: penalise tokens by how often (frequency) / whether (presence) they already appeared */
  frequencyPenalty?: number;
  presencePenalty?: number;
  grammar?: GrammarSpec;
  /** for fair queueing across tenants */
  tenantId: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = "stop" | "length";

export type GenerateEvent =
  | { type: "delta"; text: string; /** tokens this delta covers */ tokens: number }
  | { type: "done"; finishReason: FinishReason; usage: Usage };

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
}
