import { describe, expect, it } from "vitest";
import { KEY_INFO, deriveKey } from "./derived-keys";
import { openWith, sealWith } from "./secret-box";

describe("secret box", () => {
  const key = deriveKey("a-secret-of-at-least-thirty-two-characters", KEY_INFO.backendCredential);

  it("round-trips, with a fresh IV each time and no plaintext in the output", () => {
    const a = sealWith(key, "sk-upstream-secret", "bke_1");
    const b = sealWith(key, "sk-upstream-secret", "bke_1");
    expect(a).not.toBe(b);
    expect(a).not.toContain("upstream");
    expect(openWith(key, a, "bke_1")).toBe("sk-upstream-secret");
  });

  it("refuses another row's value, another key, and tampering", () => {
    const sealed = sealWith(key, "secret", "bke_1");
    expect(openWith(key, sealed, "bke_2")).toBeNull();
    expect(openWith(deriveKey("another-secret-of-thirty-two-characters!", KEY_INFO.backendCredential), sealed, "bke_1")).toBeNull();
    const parts = sealed.split(".");
    parts[3] = Buffer.from("x" + Buffer.from(parts[3]!, "base64url").toString("latin1"), "latin1").toString("base64url");
    expect(openWith(key, parts.join("."), "bke_1")).toBeNull();
    expect(openWith(key, "garbage", "bke_1")).toBeNull();
  });
});
