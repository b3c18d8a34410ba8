import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../inference/types";
import { sessionKeyOf, stickyFirst } from "./affinity";

const conv = (...turns: string[]): ChatMessage[] => [
  { role: "system", content: "You are helpful." },
  ...turns.map((t, i): ChatMessage => (i % 2 ? { role: "assistant", content: t } : { role: "user", content: t })),
];

describe("sessionKeyOf", () => {
  it("prefers x-session-id, then prompt_cache_key, then user", () => {
    expect(sessionKeyOf("t", { sessionId: "s1", passthrough: { prompt_cache_key: "p", user: "u" } })).toBe(sessionKeyOf("t", { sessionId: "s1" }));
    expect(sessionKeyOf("t", { passthrough: { prompt_cache_key: "p", user: "u" } })).toBe(sessionKeyOf("t", { sessionId: "p" }));
    expect(sessionKeyOf("t", { passthrough: { user: "u" } })).toBe(sessionKeyOf("t", { sessionId: "u" }));
  });

  it("hashes the system prompt and first user message: every turn of a conversation has one key", () => {
    const k1 = sessionKeyOf("t", { messages: conv("Hi") });
    expect(sessionKeyOf("t", { messages: conv("Hi", "Hello!", "And then?") })).toBe(k1);
    expect(sessionKeyOf("t", { messages: conv("Another chat") })).not.toBe(k1);
    expect(sessionKeyOf("t", { prompt: "Once upon a time" })).toBe(sessionKeyOf("t", { prompt: "Once upon a time" }));
    expect(sessionKeyOf("t", {})).toBeNull();
  });

  it("is scoped to the tenant", () => {
    expect(sessionKeyOf("a", { sessionId: "s" })).not.toBe(sessionKeyOf("b", { sessionId: "s" }));
    expect(sessionKeyOf("a", { messages: conv("Hi") })).not.toBe(sessionKeyOf("b", { messages: conv("Hi") }));
  });
});

describe("stickyFirst", () => {
  const targets = ["backend:a/m", "backend:b/m", "backend:c/m"].map((key) => ({ key }));

  it("puts the same target first for a session whatever the incoming order", () => {
    const first = stickyFirst(targets, "s1")[0];
    expect(stickyFirst([...targets].reverse(), "s1")[0]).toEqual(first);
    expect(stickyFirst(targets, "s1")).toHaveLength(3);
  });

  it("moves only when its target leaves, and spreads sessions over the targets", () => {
    const firsts = new Map<string, string>();
    for (let i = 0; i < 60; i++) firsts.set(`s${i}`, stickyFirst(targets, `s${i}`)[0]!.key);
    expect(new Set(firsts.values()).size).toBe(3);
    for (const [s, key] of firsts) {
      const without = targets.filter((t) => t.key !== "backend:a/m");
      const moved = stickyFirst(without, s)[0]!.key;
      if (key !== "backend:a/m") expect(moved).toBe(key); // sessions of healthy targets stay
      else expect(moved).not.toBe("backend:a/m");
    }
  });
});
