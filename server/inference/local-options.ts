/**
 * A GenerateRequest as node-llama-cpp generation options — pure, no llama.cpp, so every
 * rule is unit-tested (local-options.test.ts) without a model. local-pool.ts builds the
 * options of LlamaChat.generateResponse / LlamaCompletion.generateCompletionWithMeta from
 * these pieces and adds what needs a loaded model (grammar, token bias, the callbacks);
 * local-models.ts renders the prompt with `chatContextInput`, for generation and for
 * count_tokens alike.
 */
import type { ChatHistoryItem, ChatModelFunctions, ChatWrapperGenerateContextStateOptions, LLamaContextualRepeatPenalty } from "node-llama-cpp";
import { AppError } from "../errors";
import { endsWithToolResults, type LocalFunctions, parseLogitBias, toChatHistory, toLocalFunctions } from "./local-tools";
import type { FinishReason, GenerateRequest, GrammarSpec } from "./types";

/** The request field a prompt that does not fit is blamed on. */
export function promptParam(req: Pick<GenerateRequest, "mode">): "messages" | "prompt" {
  return req.mode === "chat" ? "messages" : "prompt";
}

export function contextLengthExceeded(promptTokens: number, maxTokens: number | undefined, limit: number, param: string): AppError {
  const message =
    maxTokens === undefined || promptTokens >= limit
      ? `This model's maximum context length is ${limit} tokens, but the prompt is ${promptTokens} tokens. Shorten the ${param === "prompt" ? "prompt" : "messages"}.`
      : `This model's maximum context length is ${limit} tokens, but ${promptTokens + maxTokens} tokens were requested (${promptTokens} in the prompt, ${maxTokens} for the completion). Shorten the ${param === "prompt" ? "prompt" : "messages"} or lower max_tokens.`;
  return new AppError("invalid", message, { code: "context_length_exceeded", param: maxTokens !== undefined && promptTokens < limit ? "max_tokens" : param });
}

/**
 * The completion budget of a request that fits: its max_tokens, or what is left of the
 * context (generation then ends with finish "length" at the context's end instead of
 * shifting it). A prompt at or over the context, or prompt + max_tokens over it, is refused.
 */
export function fitContext(promptTokens: number, req: Pick<GenerateRequest, "mode" | "maxTokens">, limit: number): number {
  if (promptTokens >= limit || (req.maxTokens !== undefined && promptTokens + req.maxTokens > limit)) {
    throw contextLengthExceeded(promptTokens, req.maxTokens, limit, promptParam(req));
  }
  return req.maxTokens ?? limit - promptTokens;
}

/** The sampling and budget part of the generation options (shared by chat and completion). */
export interface SamplingOptions {
  maxTokens: number;
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
  customStopTriggers?: string[];
  repeatPenalty: false | LLamaContextualRepeatPenalty;
}

/**
 * Greedy (temperature 0) unless the request says otherwise: a local model answers the
 * same prompt the same way. OpenAI's frequency/presence penalties map onto node-llama-cpp's
 * repeat penalty with its own multiplicative `penalty` neutral (1); without either there is
 * no repeat penalty at all (node-llama-cpp's default would add one).
 */
export function samplingOptions(
  req: Pick<GenerateRequest, "temperature" | "topP" | "topK" | "seed" | "stop" | "frequencyPenalty" | "presencePenalty">,
  maxTokens: number,
): SamplingOptions {
  return {
    maxTokens,
    temperature: req.temperature ?? 0,
    topP: req.topP,
    topK: req.topK,
    seed: req.seed,
    customStopTriggers: req.stop?.length ? req.stop : undefined,
    repeatPenalty:
      req.frequencyPenalty || req.presencePenalty
        ? { frequencyPenalty: req.frequencyPenalty || undefined, presencePenalty: req.presencePenalty || undefined, penalty: 1 }
        : false,
  };
}

/**
 * The grammar `response_format` asks for, as the Llama creates it (local-engine.ts):
 * node-llama-cpp's built-in "json" grammar, or one compiled from the schema.
 */
export type GrammarChoice = { kind: "json" } | { kind: "json_schema"; schema: Record<string, unknown> };

export function grammarChoice(grammar: GrammarSpec | undefined): GrammarChoice | undefined {
  if (!grammar) return undefined;
  return grammar.type === "json_object" ? { kind: "json" } : { kind: "json_schema", schema: grammar.schema };
}

/** The vocabulary size a GGUF's metadata states (token ids at or above it are not the model's). */
export function vocabSizeOf(metadata: unknown): number | undefined {
  return (metadata as { tokenizer?: { ggml?: { tokens?: readonly unknown[] } } } | undefined)?.tokenizer?.ggml?.tokens?.length;
}

/** logit_bias as TokenBias entries; undefined when the request biases nothing. */
export function tokenBiasEntries(req: Pick<GenerateRequest, "logitBias">, metadata: unknown): [token: number, bias: number | "never"][] | undefined {
  if (!req.logitBias || Object.keys(req.logitBias).length === 0) return undefined;
  return parseLogitBias(req.logitBias, vocabSizeOf(metadata));
}

/** What a chat request gives LlamaChat besides the sampling options. */
export interface ChatInput {
  /** the conversation, without the answer's own (empty) model turn: LlamaChat adds it */
  history: ChatHistoryItem[];
  tooling: LocalFunctions;
  /** the functions offered; undefined: a plain answer, where the grammar (if any) applies */
  functions?: ChatModelFunctions;
  /** generation starts inside a call (local-engine.ts `forcedCallWrapper`) */
  force: boolean;
  /** legacy function_call answers carry one call, and parallel_tool_calls false asks for one */
  maxParallelFunctionCalls?: number;
}

export function chatInput(req: GenerateRequest): ChatInput {
  const tooling = toLocalFunctions(req);
  return {
    history: toChatHistory(req.messages ?? []),
    tooling,
    functions: tooling.functions,
    force: tooling.force,
    maxParallelFunctionCalls: req.parallelToolCalls === false || req.legacyFunctions ? 1 : undefined,
  };
}

/**
 * What the chat wrapper renders a request's prompt from: the history and the offered
 * functions, ending in the model's empty turn the answer fills — unless the history ends
 * with tool results, whose model turn the answer continues. The one rendering of a prompt:
 * generation and count_tokens both count these tokens.
 */
export function chatContextInput(req: Pick<GenerateRequest, "messages" | "tools" | "toolChoice">): ChatWrapperGenerateContextStateOptions {
  const history = toChatHistory(req.messages ?? []);
  return {
    chatHistory: endsWithToolResults(history) ? history : [...history, { type: "model", response: [] }],
    availableFunctions: toLocalFunctions(req).functions,
  };
}

/** node-llama-cpp's stop reason as the API's finish reason. */
export function finishReasonOf(stopReason: string, calledTools: boolean): FinishReason {
  return calledTools ? "tool_calls" : stopReason === "maxTokens" ? "length" : "stop";
}
