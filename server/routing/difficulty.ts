/**
 * Difficulty score of a conversation in [0, 1], from cheap features of the whole
 * conversation (not only the last message): its length, how many turns it has,
 * code and maths markers, and words that ask for reasoning. Pure and fast (a few
 * regex passes), so it can run on every request; the absolute scale matters
 * little because thresholds are calibrated on the tenant's own scores.
 */
import { type ChatMessage, contentText } from "../inference/types";

export interface ConversationFeatures {
  chars: number;
  userTurns: number;
  codeMarkers: number;
  mathMarkers: number;
  reasoningMarkers: number;
}

const CODE = /```|\b(?:def|class|function|return|import|const|let|var|public|static|void|SELECT|FROM|WHERE)\b|=>|[{};]\s*$|#include|\(\)\s*\{/gm;
const MATH = /\\(?:frac|int|sum|sqrt|lim|partial)|[∫∑√π∞≤≥≠]|\b(?:prove|proof|theorem|lemma|derivative|integral|equation|matrix|eigen\w*|probability)\b|\d\s*[-+*/^=]\s*\d/gi;
const REASONING = /\b(?:why|explain|step by step|analy[sz]e|compare|trade-?offs?|design|optimi[sz]e|debug|reason)\b/gi;

const count = (re: RegExp, s: string) => s.match(re)?.length ?? 0;

export function featuresOf(input: { messages?: readonly ChatMessage[]; prompt?: string }): ConversationFeatures {
  const texts = input.messages ? input.messages.map((m) => contentText(m.content)) : [input.prompt ?? ""];
  const all = texts.join("\n");
  return {
    chars: all.length,
    userTurns: input.messages ? input.messages.filter((m) => m.role === "user").length : 1,
    codeMarkers: count(CODE, all),
    mathMarkers: count(MATH, all),
    reasoningMarkers: count(REASONING, all),
  };
}

const sat = (x: number, full: number) => Math.min(1, x / full);

/**
 * `embedding`: the optional embedding feature in [0, 1] (see exemplars.ts); when
 * present it takes a third of the weight, the text features the rest.
 */
export function difficultyScore(f: ConversationFeatures, embedding?: number | null): number {
  // Length on a log scale: 8k characters saturate; a one-liner is near 0.
  const length = sat(Math.log1p(f.chars), Math.log1p(8000));
  const turns = sat(Math.max(0, f.userTurns - 1), 8);
  const score =
    0.35 * length + 0.15 * turns + 0.2 * sat(f.codeMarkers, 6) + 0.2 * sat(f.mathMarkers, 6) + 0.1 * sat(f.reasoningMarkers, 3);
  const blended = embedding === undefined || embedding === null ? score : (2 / 3) * score + (1 / 3) * Math.min(1, Math.max(0, embedding));
  return Math.round(blended * 1e4) / 1e4;
}
