/**
 * Generates "switchyard-tiny": a ~0.5 MB llama GGUF that real llama.cpp (through
 * node-llama-cpp) loads and runs, built from code (never downloaded) and SCRIPTED
 * so tests can assert exact text. Same bytes on every run (seeded PRNG, plain
 * arithmetic). ~0.5 s to build.
 *
 *   tsx scripts/tiny-gguf/make-tiny-model.ts [--tools] <out.gguf>     (idempotent)
 *   import { writeTinyModel, writeTinyToolModel, buildTinyChatModel, TINY_MODEL } from "…/make-tiny-model"
 *
 * `--tools` / writeTinyToolModel writes the tool-calling variant (TINY_TOOL_MODEL: qwen2,
 * a Qwen2.5-style template with `<tool_call>`; see there).
 *
 * Run it with 1 thread per context (`createContext({ threads: 1 })`): it does
 * ~1000–2500 tokens/s on one core; 2 threads on a loaded 2-core machine is 5–20× slower.
 *
 * Scripted behaviour
 * ------------------
 * The network is in effect a bigram model: the attention and FFN blocks exist and
 * run but their outputs are tiny, so the next token depends on the last token
 * only (the context nudges hidden states a little, so embeddings of texts ending
 * in the same token still differ slightly).
 *
 * - CHAT: the last token of the ChatML assistant header `<|im_start|>assistant\n`
 *   is the newline byte token `<0x0A>` (the vocabulary has no "\n" piece). It
 *   starts a chain of one-hot "trigger" states: `<0x0A>` → "Hello" → "▁from" →
 *   "▁Switchyard." → "▁The" → "▁gateway" → "▁works." → `<|im_end|>`, each step
 *   40 logits above everything else, so every chat gets exactly
 *   TINY_MODEL.chatReply ("Hello from Switchyard. The gateway works.", 6 tokens)
 *   and then the end-of-turn token, whatever the user said, greedy or sampled
 *   (temperature 1 or 2). The reply tokens cannot be produced by the tokenizer
 *   (no merge path leads to them), so user text never contains them.
 * - FREE-RUNNING: every other token is a "free" state with a random direction;
 *   its logits are random over ordinary tokens (words, word pieces, printable
 *   characters) and ≥ 40 below for control tokens, byte tokens (so also `<0x0A>`)
 *   and reply tokens. So a prompt that does NOT end in a newline (see
 *   TINY_MODEL.safeCompletionPrompts, e.g. "Once upon a time") generates
 *   gibberish words and quotes forever: never EOS/end-of-turn, never the chat
 *   reply; it stops only at maxTokens or on abort. Greedy is deterministic (every
 *   greedy choice leads by ≥ GREEDY_MARGIN logits, so batching noise cannot flip
 *   it); seeded sampling differs by seed and repeats for a seed.
 *   UNSAFE completion prompts: anything ending in "\n" (it starts the chat reply,
 *   which then stops on `<|im_end|>`).
 * - JSON: `{ } [ ] " : ,` digits, letters and true/false/null are in the
 *   vocabulary, and the logits are shaped so that node-llama-cpp's JSON grammars
 *   (createGrammarForJsonSchema, getGrammarFor("json")) finish in a few dozen
 *   tokens: under a grammar the chat trigger opens `{`; a bare "▁" is 20 logits
 *   down (optional whitespace is skipped); `,` is below `}`/`]` (lists and
 *   objects close); after `: [ ,` no nested container or minus sign; after a
 *   digit no `. e E`; some word states strongly prefer `"`, placed so that every
 *   greedy walk through string characters reaches one (strings close).
 * - EOS: `tokenizer.ggml.eos_token_id` is `<|im_end|>` (also llama.cpp's EOT);
 *   `<s>` is BOS and is added to every prompt.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { arr, bool, f32, type GgufTensor, type GgufValue, str, u32, writeGguf } from "./gguf-writer";

/** The standard ChatML template (as in e.g. Qwen/OpenHermes tokenizer configs). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Pieces of the scripted chat reply, in order (generated token by token). */
const CHAT_REPLY_PIECES = ["Hello", "▁from", "▁Switchyard.", "▁The", "▁gateway", "▁works."] as const;

export const TINY_MODEL = {
  name: "switchyard-tiny",
  architecture: "llama",
  /** Every ChatML chat gets exactly this reply, then `<|im_end|>`. */
  chatReply: "Hello from Switchyard. The gateway works.",
  /** Vocabulary pieces of the reply, one generated token each. */
  chatReplyPieces: CHAT_REPLY_PIECES,
  /** Tokens of the reply text (the end-of-turn token not included). */
  chatReplyTokenCount: CHAT_REPLY_PIECES.length,
  /** The token that starts the reply: the newline ending `<|im_start|>assistant\n`. */
  chatTrigger: "<0x0A>",
  endOfTurn: "<|im_end|>",
  bos: "<s>",
  /** Completion prompts that free-run until maxTokens (any prompt not ending in "\n" does). */
  safeCompletionPrompts: ["Once upon a time", "Hello", "The gateway", "Write a story about a dog"],
  contextLength: 4096,
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nFf: 128,
  seed: 0x5eed_cafe,
} as const;

/**
 * A Qwen2.5-style chat template with tool calling (`<tool_call>{"name": …, "arguments": …}</tool_call>`
 * in assistant turns, `<tool_response>` results in a user turn). With the `qwen2` architecture,
 * node-llama-cpp's resolveChatWrapper finds it equivalent to its QwenChatWrapper (checked by
 * tiny-model.int.test.ts), so the tool model runs on a built-in wrapper with native tool syntax.
 */
export const QWEN_TOOLS_TEMPLATE = `{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;

/**
 * "switchyard-tiny-tools": the same scripted model (same chat reply, free-running, JSON
 * shaping) as a `qwen2` GGUF with QWEN_TOOLS_TEMPLATE and `<tool_call>`/`</tool_call>` tokens,
 * for tool-calling tests on a wrapper with native tool syntax (node-llama-cpp's Qwen wrapper).
 *
 * - Plain chat, and tool_choice "auto" (the template's generation prompt also ends in the
 *   newline trigger): exactly TINY_MODEL.chatReply, then `<|im_end|>`. So an agent loop
 *   works: turn 1 forced → a call; turn 2 with the result → the text reply.
 * - A forced call (the call prefix `<tool_call>\n{"name": "` is in the context): grammars pick
 *   the name among the offered ones and arguments valid for the schema; strings close.
 * - After a call's `</tool_call>`: `<|im_end|>` leads the newline (another call, in Qwen's
 *   syntax) by `afterCallGap` logits, everything else is ≥ 40 below. Greedy: exactly one
 *   call; sampled at temperature 1 another call follows with p ≈ 1 / (1 + e^gap), so some
 *   seeds give parallel calls.
 */
export const TINY_TOOL_MODEL = {
  ...TINY_MODEL,
  name: "switchyard-tiny-tools",
  architecture: "qwen2",
  /** node-llama-cpp's wrapperName for it */
  chatWrapper: "Qwen",
  toolCallStart: "<tool_call>",
  toolCallEnd: "</tool_call>",
  afterCallGap: 1,
} as const;

export type TinyVariant = "chatml" | "tools";

// ---------------------------------------------------------------------------
// Deterministic randomness: mulberry32 + an Irwin–Hall approximate normal
// (plain arithmetic only, so every Node version produces the same bytes).

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SQRT3 = 1.7320508075688772;
function normal(rand: () => number): number {
  return (rand() + rand() + rand() + rand() - 2) * SQRT3; // mean 0, variance 1
}

// ---------------------------------------------------------------------------
// Vocabulary

export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Words of the free-running vocabulary ("▁" + word; all prefixes become pieces too). */
const FREE_WORDS = [
  "Once", "Lily", "She", "One", "Tom", "once", "upon", "a", "time", "there", "was", "little", "girl",
  "named", "she", "liked", "to", "play", "in", "park", "with", "her", "dog", "and", "sun", "tree",
  "big", "happy", "day", "saw", "bird", "sky", "red", "blue", "ball", "run", "jump", "home", "mom",
  "dad", "said", "yes", "no", "good", "friend", "fun", "car", "cat", "box", "hat", "toy", "the", "it",
  "he", "they", "we", "you", "is", "had", "see", "look", "come", "go", "up", "down", "small", "water",
  "sea", "boat", "fish", "flower", "garden", "rain", "snow", "cake", "milk", "sleep", "bed", "night",
  "moon", "star", "kind", "help", "story", "write", "about", "true", "false", "null",
];
/** Pieces without "▁" (JSON literals and keys right after a quote), plus their prefixes. */
const BARE_WORDS = ["true", "false", "null", "ok", "name", "id", "yes", "no"];

export type TinyVocab = {
  tokens: string[];
  types: number[];
  scores: number[];
  /** Free-running penalty per token (logits below the best ordinary tokens). */
  penalty: number[];
  id: (piece: string) => number;
};

const FORBIDDEN = 60;
const WHITESPACE = 20;
const FRAGMENT = 3;
const CHAR = 3;
const PUNCT = 1;
/**
 * JSON structure characters and digits get the same logit after every free
 * state (no random part), ordered so that a grammar choosing between them
 * closes `]`/`}` before continuing a list with `,` or a number with more digits.
 */
export const STRUCTURAL: Readonly<Record<string, number>> = {
  "}": 2,
  "]": 2,
  "{": 3,
  "[": 3,
  ":": 3,
  ...Object.fromEntries([..."0123456789"].map((d) => [d, 6])),
  ",": 12,
};

export function buildTinyVocab(variant: TinyVariant = "chatml"): TinyVocab {
  const tokens: string[] = [];
  const types: number[] = [];
  const scores: number[] = [];
  const penalty: number[] = [];
  const index = new Map<string, number>();
  const add = (piece: string, type: number, pen: number) => {
    if (index.has(piece)) return;
    index.set(piece, tokens.length);
    tokens.push(piece);
    types.push(type);
    // SPM merges the highest-scoring pair first: prefer longer pieces.
    scores.push(type === TokenType.normal ? [...piece].length - tokens.length / 10_000 : 0);
    penalty.push(pen);
  };
  add("<unk>", TokenType.unknown, FORBIDDEN);
  add("<s>", TokenType.control, FORBIDDEN);
  add("</s>", TokenType.control, FORBIDDEN);
  add("<|im_start|>", TokenType.control, FORBIDDEN);
  add("<|im_end|>", TokenType.control, FORBIDDEN);
  for (let b = 0; b < 256; b++) {
    add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, TokenType.byte, FORBIDDEN);
  }
  add("▁", TokenType.normal, WHITESPACE);
  for (let c = 0x21; c <= 0x7e; c++) {
    const ch = String.fromCharCode(c);
    // a backslash would start a JSON escape: never emitted
    add(ch, TokenType.normal, ch === "\\" ? FORBIDDEN : (STRUCTURAL[ch] ?? ('.!?"'.includes(ch) ? PUNCT : CHAR)));
  }
  const wholeWords = new Set([...FREE_WORDS.map((w) => `▁${w}`), ...BARE_WORDS]);
  const withPrefixes = (w: string) => {
    const chars = [...w];
    for (let i = 2; i <= chars.length; i++) {
      const p = chars.slice(0, i).join("");
      add(p, TokenType.normal, wholeWords.has(p) ? 0 : FRAGMENT);
    }
  };
  for (const w of BARE_WORDS) withPrefixes(w);
  for (const w of FREE_WORDS) withPrefixes(`▁${w}`);
  for (const piece of CHAT_REPLY_PIECES) add(piece, TokenType.normal, FORBIDDEN);
  if (variant === "tools") {
    // user-defined like in Qwen's vocabulary: matched in any text, never free-run
    add(TINY_TOOL_MODEL.toolCallStart, TokenType.userDefined, FORBIDDEN);
    add(TINY_TOOL_MODEL.toolCallEnd, TokenType.userDefined, FORBIDDEN);
  }
  const id = (piece: string) => {
    const i = index.get(piece);
    if (i === undefined) throw new Error(`no token ${JSON.stringify(piece)}`);
    return i;
  };
  return { tokens, types, scores, penalty, id };
}

/**
 * Whether llama.cpp's SPM tokenizer can ever produce `piece`: it starts from
 * single characters and only merges two adjacent symbols into a vocabulary piece.
 */
export function spmReachable(vocab: ReadonlySet<string>, piece: string, memo = new Map<string, boolean>()): boolean {
  const known = memo.get(piece);
  if (known !== undefined) return known;
  const chars = [...piece];
  let ok = chars.length === 1 && vocab.has(piece);
  memo.set(piece, false); // no cycles possible (parts are shorter), but be safe
  for (let i = 1; !ok && i < chars.length; i++) {
    const left = chars.slice(0, i).join("");
    const right = chars.slice(i).join("");
    ok = vocab.has(piece) && vocab.has(left) && vocab.has(right) && spmReachable(vocab, left, memo) && spmReachable(vocab, right, memo);
  }
  memo.set(piece, ok);
  return ok;
}

// ---------------------------------------------------------------------------
// Weights

const CHAIN_MARGIN = 40;
/** Extra logit of `"` in the states that close strings. */
const QUOTE_BONUS = 20;
/** Logit drop of `{ [ -` after `: [ ,` (JSON values stay flat) and of `. e E - +` after a digit. */
const NESTING_PENALTY = 30;
const FREE_LOGIT_STD = 2.5;

/** The embedding/output design: everything the GGUF needs except the (inert) layers. */
export type TinyDesign = {
  vocab: TinyVocab;
  nEmbd: number;
  /** [nVocab × nEmbd] row-major: row t is token t's embedding (ggml [nEmbd, nVocab]). */
  embd: Float32Array;
  /** [nVocab × nEmbd] row-major: row t scores token t. */
  output: Float32Array;
  /** chain[i] = [from, to] token ids. */
  chain: [number, number][];
  /** Free states that prefer `"` (every greedy walk inside a JSON string reaches one). */
  quoteStates: Set<number>;
};

/**
 * Ideal next-token logits after `token` (ignores the tiny attention/FFN
 * contributions; the real model's logits differ by a few hundredths).
 */
export function idealLogits(d: TinyDesign, token: number): Float64Array {
  const n = d.vocab.tokens.length;
  const out = new Float64Array(n);
  const h = d.embd.subarray(token * d.nEmbd, (token + 1) * d.nEmbd);
  for (let t = 0; t < n; t++) {
    let s = 0;
    for (let i = 0; i < d.nEmbd; i++) s += d.output[t * d.nEmbd + i]! * h[i]!;
    out[t] = s;
  }
  return out;
}

/** Best and runner-up index among allowed tokens, and the logit gap between them. */
export function argmax2(values: ArrayLike<number>, allowed: (i: number) => boolean): [best: number, second: number, margin: number] {
  let best = -1;
  let second = -1;
  for (let i = 0; i < values.length; i++) {
    if (!allowed(i)) continue;
    if (best < 0 || values[i]! > values[best]!) {
      second = best;
      best = i;
    } else if (second < 0 || values[i]! > values[second]!) second = i;
  }
  return [best, second, values[best]! - values[second]!];
}

/** Minimum gap between the greedy choice and the runner-up in every free state. */
export const GREEDY_MARGIN = 0.5;

export function designTinyModel(variant: TinyVariant = "chatml"): TinyDesign {
  const vocab = buildTinyVocab(variant);
  const { nEmbd } = TINY_MODEL;
  const nVocab = vocab.tokens.length;
  const rand = mulberry32(TINY_MODEL.seed);
  const id = vocab.id;

  // Embedding dimensions: [0, chain) one-hot chain states; BIAS shared by all
  // states (carries each token's penalty); QUOTE marks string-closing states;
  // NEST marks the states before a JSON value (no nesting, no minus sign there);
  // NUM marks digits (a number ends rather than going on with . e E); the rest are random "free"
  // directions. Each row has norm sqrt(nEmbd) (RMS 1), so RMSNorm keeps it as is.
  const chain: [number, number][] = [TINY_MODEL.chatTrigger, ...CHAT_REPLY_PIECES].map((from, i) => [
    id(from),
    id([...CHAT_REPLY_PIECES, TINY_MODEL.endOfTurn][i]!),
  ]);
  // the tool model: after a call, end the turn (a newline, i.e. another call, close behind)
  if (variant === "tools") chain.push([id(TINY_TOOL_MODEL.toolCallEnd), id(TINY_MODEL.endOfTurn)]);
  const BIAS = chain.length;
  const QUOTE = BIAS + 1;
  const NEST = BIAS + 2;
  const NUM = BIAS + 3;
  const FREE = BIAS + 4;
  const freeDims = nEmbd - FREE;
  const chainA = Math.sqrt(nEmbd - 1);
  const nestStates = new Set([":", "[", ","].map(id));
  const numStates = new Set([..."0123456789"].map(id));

  const embd = new Float32Array(nEmbd * nVocab);
  const output = new Float32Array(nEmbd * nVocab);
  const chainState = new Map(chain.map(([from], i) => [from, i]));
  const freeDirs: number[][] = [];
  for (let t = 0; t < nVocab; t++) {
    freeDirs.push(Array.from({ length: freeDims }, () => normal(rand)));
    const pen = vocab.penalty[t]!;
    output[t * nEmbd + BIAS] = -pen;
    if (pen < FORBIDDEN && STRUCTURAL[vocab.tokens[t]!] === undefined) {
      // logit std over free states = FREE_LOGIT_STD (free parts have norm ~sqrt(nEmbd))
      for (let i = 0; i < freeDims; i++) output[t * nEmbd + FREE + i] = (normal(rand) * FREE_LOGIT_STD) / Math.sqrt(nEmbd);
    }
  }
  chain.forEach(([, to], i) => (output[to * nEmbd + i] = (vocab.penalty[to]! + CHAIN_MARGIN) / chainA));
  if (variant === "tools") {
    const after = chain.length - 1;
    const nl = id(TINY_MODEL.chatTrigger);
    output[nl * nEmbd + after] = (vocab.penalty[nl]! + CHAIN_MARGIN - TINY_TOOL_MODEL.afterCallGap) / chainA;
  }
  // With a grammar that forbids the reply, the chat trigger opens a JSON object (or array).
  output[id("{") * nEmbd + 0] = (vocab.penalty[id("{")]! + 3) / chainA;
  output[id("[") * nEmbd + 0] = (vocab.penalty[id("[")]! + 2) / chainA;
  output[id('"') * nEmbd + QUOTE] = QUOTE_BONUS;
  output[id("{") * nEmbd + NEST] = -NESTING_PENALTY;
  output[id("[") * nEmbd + NEST] = -NESTING_PENALTY;
  output[id("-") * nEmbd + NEST] = -NESTING_PENALTY;
  for (const c of [".", "e", "E", "-", "+"]) output[id(c) * nEmbd + NUM] = -NESTING_PENALTY;

  const setRow = (t: number, quote: boolean) => {
    const row = t * nEmbd;
    embd.fill(0, row, row + nEmbd);
    embd[row + BIAS] = 1;
    const c = chainState.get(t);
    if (c !== undefined) {
      embd[row + c] = chainA;
      return;
    }
    if (quote) embd[row + QUOTE] = 1;
    if (nestStates.has(t)) embd[row + NEST] = 1;
    if (numStates.has(t)) embd[row + NUM] = 1;
    const scale = freeScale(t, quote);
    freeDirs[t]!.forEach((x, i) => (embd[row + FREE + i] = x * scale));
  };
  /** Factor that brings a free state's direction to the norm left by its reserved dimensions. */
  const freeScale = (t: number, quote: boolean) => {
    const reserved = 1 + (quote ? 1 : 0) + (nestStates.has(t) ? 1 : 0) + (numStates.has(t) ? 1 : 0);
    return Math.sqrt(nEmbd - reserved) / Math.sqrt(freeDirs[t]!.reduce((s, x) => s + x * x, 0));
  };

  // Some word states close strings at random (so sampled strings end too)…
  // (`rand` is consumed in a fixed order: the file must come out identical every run.)
  const quoteStates = new Set<number>();
  vocab.tokens.forEach((piece, t) => {
    const isWord = vocab.penalty[t] === 0 && [...piece].length > 1;
    if (rand() < 0.3 && isWord && !chainState.has(t)) quoteStates.add(t);
  });
  for (let t = 0; t < nVocab; t++) setRow(t, quoteStates.has(t));
  const design: TinyDesign = { vocab, nEmbd, embd, output, chain, quoteStates };

  // Greedy must not hinge on float noise (batching changes the last bits): nudge
  // each free state's direction until its greedy choice leads by GREEDY_MARGIN,
  // both over everything it may emit and over what a JSON string allows.
  const isFree = (t: number) => vocab.penalty[t]! < FORBIDDEN;
  const inString = (t: number) => isFree(t) && vocab.tokens[t] !== '"';
  for (let t = 0; t < nVocab; t++) {
    if (chainState.has(t)) continue;
    for (let iter = 0; ; iter++) {
      if (iter === 100) throw new Error(`cannot separate greedy choices after ${vocab.tokens[t]}`);
      const logits = idealLogits(design, t);
      const failing = [isFree, inString].map((f) => argmax2(logits, f)).find(([, , m]) => m < GREEDY_MARGIN);
      if (!failing) break;
      const [best, second, margin] = failing;
      const dir = Array.from({ length: freeDims }, (_, i) => output[best * nEmbd + FREE + i]! - output[second * nEmbd + FREE + i]!);
      const dn2 = dir.reduce((s, x) => s + x * x, 0);
      if (dn2 < 1e-6) throw new Error(`tie between constant tokens after ${vocab.tokens[t]}`);
      const scale = freeScale(t, quoteStates.has(t));
      const step = (2 * GREEDY_MARGIN - margin) / (scale * dn2);
      freeDirs[t] = freeDirs[t]!.map((x, i) => x + step * dir[i]!);
      setRow(t, quoteStates.has(t));
    }
  }

  // …and greedy walks inside a JSON string must reach one: follow the greedy
  // successor over string characters from every state; the first state seen
  // twice (a cycle) becomes a closing state, until every walk closes. (The `"`
  // bonus does not change which string character wins, so successors are fixed.)
  const successor = new Map<number, number>();
  for (let t = 0; t < nVocab; t++) if (inString(t)) successor.set(t, argmax2(idealLogits(design, t), inString)[0]);
  for (let start = 0; start < nVocab; start++) {
    const seen = new Set<number>();
    for (let t = start; inString(t) && !quoteStates.has(t); t = successor.get(t)!) {
      if (seen.has(t)) {
        quoteStates.add(t);
        setRow(t, true);
        break;
      }
      seen.add(t);
    }
  }
  return design;
}

function buildTensors(design: TinyDesign, variant: TinyVariant): GgufTensor[] {
  const { nEmbd, nLayer, nFf } = TINY_MODEL;
  const nVocab = design.vocab.tokens.length;
  const rand = mulberry32(TINY_MODEL.seed ^ 0x1a7e5);
  const embd = design.embd;
  const output = design.output;

  const ones = (n: number) => new Float32Array(n).fill(1);
  const random = (n: number, std: number) => Float32Array.from({ length: n }, () => normal(rand) * std);
  const tensors: GgufTensor[] = [{ name: "token_embd.weight", dims: [nEmbd, nVocab], type: "f32", data: embd }];
  const inStd = 1 / Math.sqrt(nEmbd);
  for (let l = 0; l < nLayer; l++) {
    const p = `blk.${l}`;
    tensors.push(
      { name: `${p}.attn_norm.weight`, dims: [nEmbd], type: "f32", data: ones(nEmbd) },
      { name: `${p}.attn_q.weight`, dims: [nEmbd, nEmbd], type: "f16", data: random(nEmbd * nEmbd, inStd) },
      { name: `${p}.attn_k.weight`, dims: [nEmbd, nEmbd], type: "f16", data: random(nEmbd * nEmbd, inStd) },
      { name: `${p}.attn_v.weight`, dims: [nEmbd, nEmbd], type: "f16", data: random(nEmbd * nEmbd, inStd) },
      // qwen2 has q/k/v biases (zero: the layers stay as inert as the llama ones)
      ...(variant === "tools"
        ? (["q", "k", "v"] as const).map((x): GgufTensor => ({ name: `${p}.attn_${x}.bias`, dims: [nEmbd], type: "f32", data: new Float32Array(nEmbd) }))
        : []),
      // tiny: attention and FFN add ~0.01 RMS each to a residual stream of RMS 1
      { name: `${p}.attn_output.weight`, dims: [nEmbd, nEmbd], type: "f16", data: random(nEmbd * nEmbd, 0.0015) },
      { name: `${p}.ffn_norm.weight`, dims: [nEmbd], type: "f32", data: ones(nEmbd) },
      { name: `${p}.ffn_gate.weight`, dims: [nEmbd, nFf], type: "f16", data: random(nEmbd * nFf, inStd) },
      { name: `${p}.ffn_up.weight`, dims: [nEmbd, nFf], type: "f16", data: random(nEmbd * nFf, inStd) },
      { name: `${p}.ffn_down.weight`, dims: [nFf, nEmbd], type: "f16", data: random(nFf * nEmbd, 0.002) },
    );
  }
  tensors.push(
    { name: "output_norm.weight", dims: [nEmbd], type: "f32", data: ones(nEmbd) },
    { name: "output.weight", dims: [nEmbd, nVocab], type: "f32", data: output },
  );
  return tensors;
}

// ---------------------------------------------------------------------------

export function buildTinyChatModel(variant: TinyVariant = "chatml"): Buffer {
  const design = designTinyModel(variant);
  const vocab = design.vocab;
  const pieces = new Set(vocab.tokens.filter((_, i) => vocab.types[i] === TokenType.normal));
  for (const piece of CHAT_REPLY_PIECES) {
    if (spmReachable(pieces, piece)) throw new Error(`chain piece ${piece} is reachable by the tokenizer`);
  }
  const { nEmbd, nLayer, nHead, nFf, contextLength } = TINY_MODEL;
  const arch = variant === "tools" ? TINY_TOOL_MODEL.architecture : TINY_MODEL.architecture;
  const metadata: [string, GgufValue][] = [
    ["general.architecture", str(arch)],
    ["general.name", str(variant === "tools" ? TINY_TOOL_MODEL.name : TINY_MODEL.name)],
    ["general.description", str("Scripted test model generated by scripts/tiny-gguf/make-tiny-model.ts")],
    ["general.alignment", u32(32)],
    ["general.file_type", u32(1)], // mostly F16
    [`${arch}.vocab_size`, u32(vocab.tokens.length)],
    [`${arch}.context_length`, u32(contextLength)],
    [`${arch}.embedding_length`, u32(nEmbd)],
    [`${arch}.block_count`, u32(nLayer)],
    [`${arch}.feed_forward_length`, u32(nFf)],
    [`${arch}.attention.head_count`, u32(nHead)],
    [`${arch}.attention.head_count_kv`, u32(nHead)],
    [`${arch}.rope.dimension_count`, u32(nEmbd / nHead)],
    [`${arch}.rope.freq_base`, f32(10000)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(1e-5)],
    ["tokenizer.ggml.model", str("llama")],
    ["tokenizer.ggml.tokens", arr("string", vocab.tokens)],
    ["tokenizer.ggml.scores", arr("f32", vocab.scores)],
    ["tokenizer.ggml.token_type", arr("i32", vocab.types)],
    ["tokenizer.ggml.bos_token_id", u32(vocab.id("<s>"))],
    ["tokenizer.ggml.eos_token_id", u32(vocab.id(TINY_MODEL.endOfTurn))],
    ["tokenizer.ggml.unknown_token_id", u32(vocab.id("<unk>"))],
    ["tokenizer.ggml.add_bos_token", bool(true)],
    ["tokenizer.ggml.add_eos_token", bool(false)],
    ["tokenizer.ggml.add_space_prefix", bool(true)],
    ["tokenizer.chat_template", str(variant === "tools" ? QWEN_TOOLS_TEMPLATE : CHATML_TEMPLATE)],
  ];
  return writeGguf({ metadata, tensors: buildTensors(design, variant), alignment: 32 });
}

/** Writes the model to `file` (creating parent dirs) unless identical bytes are already there. */
export function writeTinyModel(file: string, variant: TinyVariant = "chatml"): { path: string; bytes: number; written: boolean } {
  const buf = buildTinyChatModel(variant);
  const abs = path.resolve(file);
  if (existsSync(abs) && readFileSync(abs).equals(buf)) return { path: abs, bytes: buf.length, written: false };
  mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  writeFileSync(tmp, buf);
  renameSync(tmp, abs);
  return { path: abs, bytes: buf.length, written: true };
}

/** Writes the tool-calling variant (TINY_TOOL_MODEL) to `file`, like writeTinyModel. */
export function writeTinyToolModel(file: string): { path: string; bytes: number; written: boolean } {
  return writeTinyModel(file, "tools");
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const tools = process.argv[2] === "--tools";
  const out = process.argv[tools ? 3 : 2];
  if (!out) {
    console.error("usage: tsx scripts/tiny-gguf/make-tiny-model.ts [--tools] <out.gguf>");
    process.exit(2);
  }
  const r = writeTinyModel(out, tools ? "tools" : "chatml");
  console.log(`${r.path} ${r.bytes} bytes${r.written ? "" : " (unchanged)"}`);
}
