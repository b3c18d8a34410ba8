import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../auth/key-format";
import { CustomPatternSchema, checkPattern } from "./schemas";
import { PatternTimeout, customSpans, stopPatternWorker } from "./custom-patterns";
import { cutUtf8, prepareBody, toDocument } from "./document";
import { applySpans, builtinSpans, codePoints, luhn, marker, mergeSpans, redactText } from "./redact";

const KEY = new Uint8Array(32).fill(7);
const OTHER_KEY = new Uint8Array(32).fill(8);
const MARK = /\[REDACTED:([a-z_]+) len=(\d+) hash=([0-9a-f]{8})\]/g;
const kinds = (s: string) => [...s.matchAll(MARK)].map((m) => m[1]);

describe("built-in redaction", () => {
  it("removes our own API keys, whole", () => {
    const key = generateApiKey();
    const r = redactText(`use ${key} please`, KEY);
    expect(r.text).not.toContain(key.slice(6));
    expect(r.text).toBe(`use ${marker("api_key", key, KEY)} please`);
    expect(r.count).toBe(1);
  });

  it.each([
    ["openai project", "sk-proj-" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z_-AbCd"],
    ["openai legacy", "sk-" + "A".repeat(20) + "T3BlbkFJ" + "b".repeat(20)],
    ["anthropic", "sk-ant-api03-" + "x".repeat(40)],
    ["github", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"],
    ["aws", "AKIAIOSFODNN7EXAMPLE"],
    ["google", "AIza" + "S".repeat(35)],
    ["stripe", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"],
    ["slack", "xoxb-123456789012-abcdefABCDEF"],
    ["hugging face", "hf_" + "q".repeat(34)],
  ])("removes %s keys", (_name, secret) => {
    const r = redactText(`key=${secret};`, KEY);
    expect(r.text).toBe(`key=${marker("api_key", secret, KEY)};`);
  });

  it("removes the token of a bearer header but keeps the word", () => {
    const r = redactText("curl -H 'Authorization: Bearer abc.DEF-123_456~xyz=' https://x", KEY);
    expect(r.text).toContain("Bearer [REDACTED:bearer len=20 ");
    expect(r.text).not.toContain("abc.DEF");
  });

  it("removes JWTs and private keys", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEyMyJ9.c2lnbmF0dXJlX2hlcmVfMTIz";
    expect(kinds(redactText(`token ${jwt}`, KEY).text)).toEqual(["jwt"]);
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----";
    const r = redactText(`x\n${pem}\ny`, KEY);
    expect(kinds(r.text)).toEqual(["private_key"]);
    expect(r.text).not.toContain("MIIEow");
  });

  it("removes e-mail addresses, including non-ASCII ones", () => {
    const r = redactText("mail jane.doe+x@example.co.uk or 山田@例え.jp now", KEY);
    expect(kinds(r.text)).toEqual(["email", "email"]);
    expect(r.text).not.toContain("jane.doe");
    expect(r.text).not.toContain("山田");
    expect(r.text).toMatch(/^mail \[REDACTED:email len=24 hash=[0-9a-f]{8}\] or \[REDACTED:email len=8 /);
  });

  it("removes card numbers only when the Luhn check passes", () => {
    expect(luhn("4111111111111111")).toBe(true);
    expect(luhn("4111111111111112")).toBe(false);
    const r = redactText("card 4111 1111 1111 1111, order 4111 1111 1111 1112, tel 5555-5555-5555-4444", KEY);
    expect(kinds(r.text)).toEqual(["card", "card"]);
    expect(r.text).toContain("order 4111 1111 1111 1112");
    expect(r.text).toContain("card [REDACTED:card len=19 ");
  });

  it("leaves ordinary text alone", () => {
    const text = "The sky is blue. Call me at 10:30, ticket #123456. sk-short is not a key. user@localhost";
    expect(redactText(text, KEY)).toEqual({ text, count: 0 });
  });

  it("hashes with the server key: same secret same hash, another key another hash", () => {
    const a = marker("email", "a@b.example", KEY);
    expect(marker("email", "a@b.example", KEY)).toBe(a);
    expect(marker("email", "a@b.example", OTHER_KEY)).not.toBe(a);
    expect(marker("email", "c@b.example", KEY)).not.toBe(a);
  });
});

describe("overlapping matches", () => {
  it("a bearer token that is also our key is one redaction, named api_key", () => {
    const key = generateApiKey();
    const r = redactText(`Authorization: Bearer ${key}`, KEY);
    expect(r.count).toBe(1);
    expect(r.text).toBe(`Authorization: Bearer ${marker("api_key", key, KEY)}`);
  });

  it("merges partial overlaps into their union so no fragment survives", () => {
    const merged = mergeSpans([
      { start: 5, end: 12, kind: "email" },
      { start: 0, end: 7, kind: "custom" },
      { start: 12, end: 14, kind: "card" },
      { start: 20, end: 22, kind: "email" },
    ]);
    expect(merged).toEqual([
      { start: 0, end: 14, kind: "card" },
      { start: 20, end: 22, kind: "email" },
    ]);
    const text = "abcdefghijklmnopqrstuvwxyz";
    expect(applySpans(text, [{ start: 5, end: 12, kind: "email" }, { start: 0, end: 7, kind: "x" }], KEY).text).toBe(
      `${marker("email", "abcdefghijkl", KEY)}mnopqrstuvwxyz`,
    );
  });

  it("an e-mail with a key-looking local part is redacted once", () => {
    const spans = builtinSpans("sk-sy-abcdefghijklmnopqrstuvwxyz0123@example.com");
    expect(spans.length).toBeGreaterThan(1);
    expect(mergeSpans(spans)).toHaveLength(1);
  });
});

describe("multi-byte text", () => {
  it("keeps emoji and CJK intact around redactions and counts characters, not UTF-16 units", () => {
    const key = generateApiKey();
    const text = `🔑 ${key} 😀 mail müller@exämple.com — 日本語`;
    const r = redactText(text, KEY);
    expect(r.text.startsWith("🔑 [REDACTED:api_key len=49 ")).toBe(true);
    expect(r.text).toContain(" 😀 mail ");
    expect(r.text.endsWith(" — 日本語")).toBe(true);
    expect(codePoints("müller@exämple.com")).toBe(18);
    expect("müller@exämple.com".length).toBe(18);
    expect(codePoints("😀")).toBe(1);
    expect(r.text).toContain("mail [REDACTED:email len=18 ");
  });

  it("cuts UTF-8 between characters, never inside one", () => {
    expect(cutUtf8("a😀b", 4)).toBe("a");
    expect(cutUtf8("a😀b", 5)).toBe("a😀");
    expect(cutUtf8("日本語", 7)).toBe("日本");
    expect(cutUtf8("abc", 10)).toBe("abc");
  });
});

describe("custom patterns", () => {
  it("accepts ordinary patterns and refuses the catastrophic ones", () => {
    expect(checkPattern("EMP-\\d{6}")).toBeNull();
    expect(checkPattern("(?:acct|account)[ #:]*\\d+", "i")).toBeNull();
    expect(checkPattern("[(+*]\\d+")).toBeNull();
    expect(checkPattern("(a+)+$")).toMatch(/nest quantifiers/);
    expect(checkPattern("((ab)*c)*")).toMatch(/nest quantifiers/);
    expect(checkPattern("(x|y+){2,}")).toMatch(/nest quantifiers/);
    expect(checkPattern("(a)\\1")).toMatch(/backreferences/);
    expect(checkPattern("foo(?=bar)")).toMatch(/lookahead/);
    expect(checkPattern("(unclosed")).toMatch(/not a valid/);
    expect(checkPattern("a".repeat(201))).toMatch(/longer than/);
    expect(checkPattern("x", "g")).toMatch(/flags/);
    expect(CustomPatternSchema.safeParse({ name: "Bad Name", pattern: "x" }).success).toBe(false);
    expect(CustomPatternSchema.safeParse({ name: "emp_id", pattern: "(a+)+" }).success).toBe(false);
  });

  it("finds matches in a worker and names them after the pattern", async () => {
    const [a, b] = await customSpans([{ name: "emp_id", pattern: "EMP-\\d{6}" }], ["id EMP-123456 and EMP-654321", "none"]);
    expect(a).toEqual([
      { start: 3, end: 13, kind: "emp_id" },
      { start: 18, end: 28, kind: "emp_id" },
    ]);
    expect(b).toEqual([]);
  });

  it("a pattern that runs too long is stopped, and the worker serves the next job", async () => {
    // (a|a)* style blow-up is refused at save time; this polynomial one passes the check, so the timeout must catch it
    const slow = { name: "slow", pattern: "a*a*a*a*a*a*b" };
    expect(checkPattern(slow.pattern)).toBeNull();
    await expect(customSpans([slow], ["a".repeat(5000)], 100)).rejects.toBeInstanceOf(PatternTimeout);
    const [ok] = await customSpans([{ name: "n", pattern: "\\d+" }], ["x 42"]);
    expect(ok).toEqual([{ start: 2, end: 4, kind: "n" }]);
    await stopPatternWorker();
  });
});

describe("stored document", () => {
  const request = {
    model: "m",
    stream: true,
    mode: "chat" as const,
    messages: [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: [{ type: "text" as const, text: "hi jane@example.com" }, { type: "image" as const, url: "data:image/png;base64," + "A".repeat(5000) }] },
    ],
  };
  const result = {
    choices: [{ index: 0, text: "Hello 🙂", refusal: null, reasoning: null, toolCalls: [{ id: "call_1", name: "f", arguments: '{"card":"4111111111111111"}' }], finishReason: "tool_calls" as const, logprobs: null }],
    usage: { promptTokens: 3, completionTokens: 2 },
  };

  it("redacts every string, elides data URIs, keeps the structure", async () => {
    const p = await prepareBody(toDocument("/v1/chat/completions", request, result, null), { hashKey: KEY, patterns: [], maxBytes: 1 << 20 });
    const doc = JSON.parse(p.body);
    expect(p.truncated).toBe(false);
    expect(p.redactions).toBe(2);
    expect(p.body).not.toContain("jane@");
    expect(p.body).not.toContain("4111111111111111");
    expect(p.body).not.toContain("AAAAAAAA");
    expect(doc.request.messages[1].content[1].url).toMatch(/^\[image\/png;base64: 5022 characters not stored\]$/);
    expect(doc.response.choices[0].toolCalls[0].name).toBe("f");
    expect(p.bytes).toBe(Buffer.byteLength(p.body));
  });

  it("applies the tenant's patterns too", async () => {
    const p = await prepareBody(toDocument("/v1/chat/completions", { ...request, messages: [{ role: "user", content: "ticket EMP-123456" }] }, null, null), {
      hashKey: KEY,
      patterns: [{ name: "emp_id", pattern: "EMP-\\d{6}" }],
      maxBytes: 1 << 20,
    });
    expect(p.body).toContain("ticket [REDACTED:emp_id len=10 ");
    await stopPatternWorker();
  });

  it("caps the size, keeps valid JSON, answers first, and marks it truncated", async () => {
    const long = "日本語のテキスト🙂".repeat(2000); // ~54 KB of multi-byte text
    const doc = toDocument("/v1/chat/completions", { ...request, messages: [{ role: "user", content: long }] }, { ...result, choices: [{ ...result.choices[0]!, text: "short answer" }] }, null);
    const p = await prepareBody(doc, { hashKey: KEY, patterns: [], maxBytes: 4096 });
    expect(p.truncated).toBe(true);
    expect(p.bytes).toBeLessThanOrEqual(4096);
    const parsed = JSON.parse(p.body);
    expect(parsed.response.choices[0].text).toBe("short answer");
    const kept: string = parsed.request.messages[0].content;
    expect(kept.endsWith("…[truncated]")).toBe(true);
    expect(long.startsWith(kept.slice(0, -"…[truncated]".length))).toBe(true);
    expect(kept).not.toContain("\uFFFD");
  });

  it("redacts before it truncates: a key cut by the cap leaves no fragment", async () => {
    const key = generateApiKey();
    const content = "x".repeat(1500) + key + "y".repeat(3000);
    const p = await prepareBody(toDocument("/v1/chat/completions", { ...request, messages: [{ role: "user", content }] }, null, null), {
      hashKey: KEY,
      patterns: [],
      maxBytes: 1600,
    });
    expect(p.truncated).toBe(true);
    expect(p.body).not.toContain(key.slice(0, 12));
    expect(p.body).not.toMatch(/sk-sy-[0-9A-Za-z]{4}/);
  });
});
