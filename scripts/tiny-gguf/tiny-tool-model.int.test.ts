// The tool-calling tiny model through real llama.cpp: it loads as qwen2, node-llama-cpp maps
// its template to the built-in Qwen wrapper (with native `<tool_call>` syntax), chat replies
// stay scripted, and a function call through that wrapper comes back parsed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { getLlama, type Llama, LlamaChat, type LlamaContext, LlamaLogLevel, type LlamaModel, QwenChatWrapper, readGgufFileInfo, resolveChatWrapper } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QWEN_TOOLS_TEMPLATE, TINY_MODEL, TINY_TOOL_MODEL, writeTinyToolModel } from "./make-tiny-model";

let dir: string;
let file: string;
let llama: Llama;
let model: LlamaModel;
let ctx: LlamaContext;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-tiny-tools-"));
  file = path.join(dir, "tiny-tools.gguf");
  expect(writeTinyToolModel(file).written).toBe(true);
  expect(writeTinyToolModel(file).written).toBe(false);
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 2 });
  model = await llama.loadModel({ modelPath: file });
  ctx = await model.createContext({ contextSize: 2048, sequences: 1, threads: 1 });
});

afterAll(async () => {
  await ctx?.dispose();
  await model?.dispose();
  await llama?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("tiny tool model", () => {
  it("is a qwen2 GGUF with the Qwen-style template and tool tokens", async () => {
    const info = await readGgufFileInfo(file);
    expect(info.metadata.general.architecture).toBe("qwen2");
    expect(info.metadata.general.name).toBe(TINY_TOOL_MODEL.name);
    expect(info.metadata.tokenizer?.chat_template).toBe(QWEN_TOOLS_TEMPLATE);
    expect(model.tokenize(TINY_TOOL_MODEL.toolCallEnd, true)).toHaveLength(1);
  });

  it("resolves to node-llama-cpp's built-in Qwen wrapper", () => {
    const wrapper = resolveChatWrapper(model);
    expect(wrapper).toBeInstanceOf(QwenChatWrapper);
    expect(wrapper.wrapperName).toBe(TINY_TOOL_MODEL.chatWrapper);
  });

  it("replies with the scripted sentence, also with functions offered", async () => {
    const seq = ctx.getSequence();
    try {
      const chat = new LlamaChat({ contextSequence: seq, chatWrapper: resolveChatWrapper(model), autoDisposeSequence: false });
      const functions = { get_time: { description: "time", params: { type: "object", properties: { zone: { type: "string" } } } } } as const;
      const plain = await chat.generateResponse([{ type: "user", text: "Hi" }], { maxTokens: 40 });
      expect(plain.response).toBe(TINY_MODEL.chatReply);
      const offered = await chat.generateResponse([{ type: "user", text: "Hi" }], { maxTokens: 40, functions });
      expect(offered.response).toBe(TINY_MODEL.chatReply);
      expect(offered.functionCalls ?? []).toEqual([]);
      chat.dispose({ disposeSequence: false });
    } finally {
      seq.dispose();
    }
  });
});
