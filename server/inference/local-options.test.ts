// The request → node-llama-cpp options mapping of local models, without llama.cpp: sampling,
// stop triggers, penalties, the context budget, response_format, logit_bias, tools and the
// rendered chat input, finish reasons.
import type { LLamaChatGenerateResponseOptions, LlamaCompletionGenerationOptions } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { isAppError } from "../errors";
import {
  chatContextInput,
  chatInput,
  contextLengthExceeded,
  finishReasonOf,
  fitContext,
  grammarChoice,
  promptParam,
  samplingOptions,
  tokenBiasEntries,
  vocabSizeOf,
} from "./local-options";
import type { GenerateRequest, ToolDefinition } from "./types";

function appError(fn: () => unknown): { code: string; param?: string; message: string; status: number } {
  try {
    fn();
  } catch (e) {
    expect(isAppError(e)).toBe(true);
    return e as never;
  }
  throw new Error("expected an AppError");
}

const chat = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({ mode: "chat", messages: [{ role: "user", content: "hi" }], tenantId: "t", ...over });
const completion = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({ mode: "completion", prompt: "once", tenantId: "t", ...over });
const WEATHER: ToolDefinition = {
  name: "weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const TIME: ToolDefinition = { name: "time" };

describe("samplingOptions", () => {
  it("is greedy with no penalty and no stop triggers unless asked", () => {
    expect(samplingOptions(chat(), 100)).toEqual({
      maxTokens: 100,
      temperature: 0,
      topP: undefined,
      topK: undefined,
      seed: undefined,
      customStopTriggers: undefined,
      repeatPenalty: false,
    });
  });

  it("passes temperature, top_p, top_k and seed through", () => {
    expect(samplingOptions(chat({ temperature: 0.7, topP: 0.9, topK: 40, seed: 7 }), 5)).toMatchObject({
      maxTokens: 5,
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      seed: 7,
    });
    // an explicit 0 stays 0 (not "unset")
    expect(samplingOptions(chat({ temperature: 0, topK: 0 }), 5)).toMatchObject({ temperature: 0, topK: 0 });
  });

  it("makes stop strings custom stop triggers; an empty list is none", () => {
    expect(samplingOptions(chat({ stop: ["\n\n", "END"] }), 1).customStopTriggers).toEqual(["\n\n", "END"]);
    expect(samplingOptions(chat({ stop: [] }), 1).customStopTriggers).toBeUndefined();
  });

  it("maps frequency/presence penalties onto a neutral repeat penalty", () => {
    expect(samplingOptions(chat({ frequencyPenalty: 0.5 }), 1).repeatPenalty).toEqual({ frequencyPenalty: 0.5, presencePenalty: undefined, penalty: 1 });
    expect(samplingOptions(chat({ presencePenalty: -0.25 }), 1).repeatPenalty).toEqual({ frequencyPenalty: undefined, presencePenalty: -0.25, penalty: 1 });
    expect(samplingOptions(chat({ frequencyPenalty: 1, presencePenalty: 2 }), 1).repeatPenalty).toEqual({ frequencyPenalty: 1, presencePenalty: 2, penalty: 1 });
    // zero penalties are no penalty: node-llama-cpp's own default repeat penalty stays off
    expect(samplingOptions(chat({ frequencyPenalty: 0, presencePenalty: 0 }), 1).repeatPenalty).toBe(false);
  });

  it("is what LlamaChat and LlamaCompletion accept", () => {
    // compile-time: the mapping's output type-checks as node-llama-cpp's options
    const chatOptions: LLamaChatGenerateResponseOptions = samplingOptions(chat({ stop: ["x"], frequencyPenalty: 1 }), 3);
    const completionOptions: LlamaCompletionGenerationOptions = samplingOptions(completion(), 3);
    expect(chatOptions.maxTokens).toBe(3);
    expect(completionOptions.repeatPenalty).toBe(false);
  });
});

describe("fitContext", () => {
  it("budgets the rest of the context without max_tokens, else max_tokens", () => {
    expect(fitContext(100, chat(), 512)).toBe(412);
    expect(fitContext(100, chat({ maxTokens: 50 }), 512)).toBe(50);
    expect(fitContext(100, chat({ maxTokens: 412 }), 512)).toBe(412); // exactly full fits
    expect(fitContext(511, completion(), 512)).toBe(1);
  });

  it("refuses a prompt at or over the context, blaming messages or prompt", () => {
    const e = appError(() => fitContext(512, chat(), 512));
    expect(e).toMatchObject({ code: "context_length_exceeded", param: "messages", status: 400 });
    expect(e.message).toBe("This model's maximum context length is 512 tokens, but the prompt is 512 tokens. Shorten the messages.");
    const c = appError(() => fitContext(600, completion({ maxTokens: 10 }), 512));
    expect(c).toMatchObject({ code: "context_length_exceeded", param: "prompt" });
    expect(c.message).toBe("This model's maximum context length is 512 tokens, but the prompt is 600 tokens. Shorten the prompt.");
  });

  it("refuses prompt + max_tokens over the context, blaming max_tokens with both numbers", () => {
    const e = appError(() => fitContext(100, chat({ maxTokens: 413 }), 512));
    expect(e).toMatchObject({ code: "context_length_exceeded", param: "max_tokens" });
    expect(e.message).toBe(
      "This model's maximum context length is 512 tokens, but 513 tokens were requested (100 in the prompt, 413 for the completion). Shorten the messages or lower max_tokens.",
    );
  });

  it("names the same error when the context runs full mid-run", () => {
    expect(contextLengthExceeded(10, undefined, 8, promptParam(completion()))).toMatchObject({ param: "prompt" });
    expect(contextLengthExceeded(4, 8, 8, promptParam(chat()))).toMatchObject({ param: "max_tokens" });
  });
});

describe("grammarChoice", () => {
  it("maps response_format onto node-llama-cpp's json grammar or a schema grammar", () => {
    expect(grammarChoice(undefined)).toBeUndefined();
    expect(grammarChoice({ type: "json_object" })).toEqual({ kind: "json" });
    const schema = { type: "object", properties: { a: { type: "number" } } };
    expect(grammarChoice({ type: "json_schema", schema, name: "x", strict: true })).toEqual({ kind: "json_schema", schema });
  });
});

describe("tokenBiasEntries", () => {
  const metadata = { tokenizer: { ggml: { tokens: new Array(100).fill("t") } } };
  it("is nothing without biases", () => {
    expect(tokenBiasEntries(chat(), metadata)).toBeUndefined();
    expect(tokenBiasEntries(chat({ logitBias: {} }), metadata)).toBeUndefined();
  });

  it("bans at -100 and checks ids against the GGUF's vocabulary", () => {
    expect(vocabSizeOf(metadata)).toBe(100);
    expect(vocabSizeOf({})).toBeUndefined();
    expect(tokenBiasEntries(chat({ logitBias: { "5": -100, "7": 2.5 } }), metadata)).toEqual([
      [5, "never"],
      [7, 2.5],
    ]);
    expect(appError(() => tokenBiasEntries(chat({ logitBias: { "100": 1 } }), metadata))).toMatchObject({ param: "logit_bias" });
    // without a vocabulary in the metadata any id is taken
    expect(tokenBiasEntries(chat({ logitBias: { "100": 1 } }), {})).toEqual([[100, 1]]);
  });
});

describe("chatInput", () => {
  it("offers no functions without tools, or with tool_choice none", () => {
    expect(chatInput(chat())).toMatchObject({ functions: undefined, force: false, maxParallelFunctionCalls: undefined });
    expect(chatInput(chat({ tools: [WEATHER], toolChoice: "none" }))).toMatchObject({ functions: undefined, force: false });
    expect(chatInput(chat()).history).toEqual([{ type: "user", text: "hi" }]);
  });

  it("offers every tool on auto and required, forcing a call on required", () => {
    const auto = chatInput(chat({ tools: [WEATHER, TIME] }));
    expect(Object.keys(auto.functions!)).toEqual(["weather", "time"]);
    expect(auto.functions!.weather).toMatchObject({ description: "The weather in a city", params: { type: "object" } });
    expect(auto.force).toBe(false);
    expect(auto.tooling.tools.size).toBe(2);
    expect(chatInput(chat({ tools: [WEATHER, TIME], toolChoice: "required" })).force).toBe(true);
  });

  it("offers only the named tool and forces it", () => {
    const named = chatInput(chat({ tools: [WEATHER, TIME], toolChoice: { name: "time" } }));
    expect(Object.keys(named.functions!)).toEqual(["time"]);
    expect(named.force).toBe(true);
    expect(appError(() => chatInput(chat({ tools: [WEATHER], toolChoice: { name: "nope" } })))).toMatchObject({ param: "tool_choice" });
  });

  it("asks for one call with parallel_tool_calls false or legacy functions", () => {
    expect(chatInput(chat({ tools: [WEATHER] })).maxParallelFunctionCalls).toBeUndefined();
    expect(chatInput(chat({ tools: [WEATHER], parallelToolCalls: true })).maxParallelFunctionCalls).toBeUndefined();
    expect(chatInput(chat({ tools: [WEATHER], parallelToolCalls: false })).maxParallelFunctionCalls).toBe(1);
    expect(chatInput(chat({ tools: [WEATHER], legacyFunctions: true })).maxParallelFunctionCalls).toBe(1);
  });

  it("refuses a bad tool schema", () => {
    const bad: ToolDefinition = { name: "bad", parameters: { type: "object", properties: { a: { not: { type: "string" } } } } };
    expect(appError(() => chatInput(chat({ tools: [bad] })))).toMatchObject({ code: "invalid_tool_schema", param: "tools" });
  });
});

describe("chatContextInput", () => {
  it("ends the rendered history with the answer's empty model turn, with the offered functions", () => {
    const input = chatContextInput(chat({ tools: [WEATHER] }));
    expect(input.chatHistory).toEqual([
      { type: "user", text: "hi" },
      { type: "model", response: [] },
    ]);
    expect(Object.keys(input.availableFunctions!)).toEqual(["weather"]);
    expect(chatContextInput(chat({ tools: [WEATHER], toolChoice: "none" })).availableFunctions).toBeUndefined();
  });

  it("continues the model turn after tool results instead of opening a new one", () => {
    const input = chatContextInput(
      chat({
        tools: [WEATHER],
        messages: [
          { role: "user", content: "Paris?" },
          { role: "assistant", content: null, toolCalls: [{ id: "call_1", name: "weather", arguments: '{"city":"Paris"}' }] },
          { role: "tool", toolCallId: "call_1", content: "sunny" },
        ],
      }),
    );
    expect(input.chatHistory).toHaveLength(2);
    expect(input.chatHistory.at(-1)).toMatchObject({
      type: "model",
      response: [{ type: "functionCall", name: "weather", params: { city: "Paris" }, result: "sunny" }],
    });
  });

  it("renders the same history generation continues from", () => {
    const req = chat({ messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }] });
    expect(chatContextInput(req).chatHistory.slice(0, -1)).toEqual(chatInput(req).history);
  });
});

describe("finishReasonOf", () => {
  it("says tool_calls for made calls, length for the token budget, else stop", () => {
    expect(finishReasonOf("functionCalls", true)).toBe("tool_calls");
    expect(finishReasonOf("functionCalls", false)).toBe("stop");
    expect(finishReasonOf("maxTokens", false)).toBe("length");
    expect(finishReasonOf("maxTokens", true)).toBe("tool_calls");
    expect(finishReasonOf("eogToken", false)).toBe("stop");
    expect(finishReasonOf("customStopTrigger", false)).toBe("stop");
  });
});
