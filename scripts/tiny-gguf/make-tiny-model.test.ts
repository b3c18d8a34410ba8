// The tiny model's design, checked on its ideal logits (no llama.cpp, no I/O);
// tiny-model.int.test.ts checks the same behaviour through real llama.cpp.
import { describe, expect, it } from "vitest";
import {
  argmax2,
  buildTinyChatModel,
  designTinyModel,
  GREEDY_MARGIN,
  idealLogits,
  spmReachable,
  TINY_MODEL,
  TINY_TOOL_MODEL,
  TokenType,
} from "./make-tiny-model";

const design = designTinyModel();
const { vocab } = design;
const id = vocab.id;
const FORBIDDEN = 60;
const isChainState = (t: number) => design.chain.some(([from]) => from === t);

describe("tiny model vocabulary", () => {
  it("has the special, chat and byte tokens llama.cpp needs", () => {
    expect(vocab.tokens.slice(0, 5)).toEqual(["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]);
    expect(vocab.types.slice(0, 5)).toEqual([TokenType.unknown, ...Array(4).fill(TokenType.control)]);
    expect(vocab.tokens[id("<0x0A>")]).toBe("<0x0A>");
    expect(vocab.tokens.filter((t) => /^<0x[0-9A-F]{2}>$/.test(t))).toHaveLength(256);
    expect(vocab.tokens).not.toContain("\n");
    for (const piece of ["▁", "{", "}", "[", "]", '"', ":", ",", "0", "9", "a", "Z", "true", "false", "null"]) {
      expect(vocab.tokens).toContain(piece);
    }
    expect(new Set(vocab.tokens).size).toBe(vocab.tokens.length);
  });

  it("cannot tokenize user text into reply tokens", () => {
    const normal = new Set(vocab.tokens.filter((_, i) => vocab.types[i] === TokenType.normal));
    for (const piece of TINY_MODEL.chatReplyPieces) expect(spmReachable(normal, piece)).toBe(false);
    expect(spmReachable(normal, "▁time")).toBe(true);
    expect(TINY_MODEL.chatReplyPieces.join("").replaceAll("▁", " ")).toBe(TINY_MODEL.chatReply);
  });
});

describe("tiny model behaviour (ideal logits)", () => {
  it("answers every chat with the reply chain, by a wide margin", () => {
    let t = id(TINY_MODEL.chatTrigger);
    const out: string[] = [];
    for (let step = 0; step < 10 && t !== id(TINY_MODEL.endOfTurn); step++) {
      const [best, , margin] = argmax2(idealLogits(design, t), () => true);
      expect(margin).toBeGreaterThan(30);
      t = best;
      out.push(vocab.tokens[t]!);
    }
    expect(out).toEqual([...TINY_MODEL.chatReplyPieces, TINY_MODEL.endOfTurn]);
  });

  it("free-runs from every other token: ordinary tokens only, clear greedy choice", () => {
    for (let t = 0; t < vocab.tokens.length; t++) {
      if (isChainState(t)) continue;
      const logits = idealLogits(design, t);
      const [best, , margin] = argmax2(logits, () => true);
      expect(vocab.penalty[best]).toBeLessThan(FORBIDDEN);
      expect(margin).toBeGreaterThanOrEqual(GREEDY_MARGIN * 0.99);
      const [bestForbidden] = argmax2(logits, (i) => vocab.penalty[i]! >= FORBIDDEN);
      expect(logits[best]! - logits[bestForbidden]!).toBeGreaterThan(40);
    }
  });

  it("closes every greedy JSON string", () => {
    const quote = id('"');
    const inString = (i: number) => vocab.penalty[i]! < FORBIDDEN && i !== quote;
    const next = new Map<number, number>();
    for (let t = 0; t < vocab.tokens.length; t++) {
      if (inString(t)) next.set(t, argmax2(idealLogits(design, t), (i) => inString(i) || i === quote)[0]);
    }
    let longest = 0;
    for (const start of next.keys()) {
      let steps = 0;
      for (let t = start; t !== quote; t = next.get(t)!) expect(++steps).toBeLessThan(40);
      longest = Math.max(longest, steps);
    }
    expect(longest).toBeGreaterThan(1);
    for (const q of design.quoteStates) {
      const [best, , margin] = argmax2(idealLogits(design, q), (i) => vocab.penalty[i]! < FORBIDDEN);
      expect(best).toBe(quote);
      expect(margin).toBeGreaterThan(5);
    }
  });

  it("prefers closing JSON containers to continuing them", () => {
    for (let t = 0; t < vocab.tokens.length; t++) {
      if (isChainState(t)) continue;
      const l = idealLogits(design, t);
      expect(l[id("}")]!).toBeGreaterThan(l[id(",")]!);
      expect(l[id("]")]!).toBeGreaterThan(l[id(",")]!);
    }
  });
});

describe("buildTinyChatModel", () => {
  it("produces the same ~0.5 MB GGUF every time", () => {
    const a = buildTinyChatModel();
    const b = buildTinyChatModel();
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(0, 4).toString("latin1")).toBe("GGUF");
    expect(a.length).toBeGreaterThan(300_000);
    expect(a.length).toBeLessThan(700_000);
    expect(a.length % 32).toBe(0);
  });
});

describe("the tool-calling variant (ideal logits)", () => {
  const tools = designTinyModel("tools");
  const tid = tools.vocab.id;

  it("adds <tool_call> and </tool_call> as user-defined tokens, only to that variant", () => {
    for (const piece of [TINY_TOOL_MODEL.toolCallStart, TINY_TOOL_MODEL.toolCallEnd]) {
      expect(tools.vocab.types[tid(piece)]).toBe(TokenType.userDefined);
      expect(vocab.tokens).not.toContain(piece);
    }
    expect(tools.vocab.tokens.slice(0, vocab.tokens.length)).toEqual(vocab.tokens);
  });

  it("keeps the chat reply chain", () => {
    let t = tid(TINY_MODEL.chatTrigger);
    const out: string[] = [];
    for (let step = 0; step < 10 && t !== tid(TINY_MODEL.endOfTurn); step++) {
      const [best, , margin] = argmax2(idealLogits(tools, t), () => true);
      expect(margin).toBeGreaterThan(30);
      t = best;
      out.push(tools.vocab.tokens[t]!);
    }
    expect(out).toEqual([...TINY_MODEL.chatReplyPieces, TINY_MODEL.endOfTurn]);
  });

  it("after a call ends the turn, with another call (a newline) close behind", () => {
    const logits = idealLogits(tools, tid(TINY_TOOL_MODEL.toolCallEnd));
    const [best, second, margin] = argmax2(logits, () => true);
    expect(tools.vocab.tokens[best]).toBe(TINY_MODEL.endOfTurn);
    expect(tools.vocab.tokens[second]).toBe(TINY_MODEL.chatTrigger);
    expect(margin).toBeCloseTo(TINY_TOOL_MODEL.afterCallGap, 1);
    const [third] = argmax2(logits, (i) => i !== best && i !== second);
    expect(logits[second]! - logits[third]!).toBeGreaterThan(30);
  });

  it("free-runs with clear greedy choices and never emits the tool tokens by itself", () => {
    const forbidden = new Set([TINY_TOOL_MODEL.toolCallStart, TINY_TOOL_MODEL.toolCallEnd].map(tid));
    for (let t = 0; t < tools.vocab.tokens.length; t++) {
      if (tools.chain.some(([from]) => from === t)) continue;
      const logits = idealLogits(tools, t);
      const [best, , margin] = argmax2(logits, () => true);
      expect(forbidden.has(best)).toBe(false);
      expect(margin).toBeGreaterThanOrEqual(GREEDY_MARGIN * 0.99);
    }
  });

  it("builds a deterministic qwen2 GGUF, different from the default one", () => {
    const a = buildTinyChatModel("tools");
    expect(a.equals(buildTinyChatModel("tools"))).toBe(true);
    expect(a.equals(buildTinyChatModel())).toBe(false);
    expect(a.includes(Buffer.from("qwen2.embedding_length"))).toBe(true);
    expect(a.includes(Buffer.from("<tool_call>"))).toBe(true);
  });
});
