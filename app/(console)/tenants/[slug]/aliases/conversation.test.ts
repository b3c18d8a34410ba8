import { describe, expect, it } from "vitest";
import { parseConversation, withImage } from "./conversation";

describe("dry-run conversation", () => {
  it("reads role-prefixed lines; unprefixed lines continue the previous message", () => {
    expect(parseConversation("hello\nSystem: be brief\nuser: Hi\nsecond line\nassistant:Yes")).toEqual([
      { role: "user", content: "hello" },
      { role: "system", content: "be brief" },
      { role: "user", content: "Hi\nsecond line" },
      { role: "assistant", content: "Yes" },
    ]);
    expect(parseConversation("\n  \n")).toEqual([]);
  });

  it("attaches the image to the last user message only", () => {
    const out = withImage(parseConversation("user: a\nassistant: b\nuser: c"));
    expect(out[0]!.content).toBe("a");
    expect(out[2]!.content).toEqual([
      { type: "text", text: "c" },
      { type: "image", url: "https://example.invalid/dry-run.png" },
    ]);
  });
});
