import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KEY_INFO, deriveKey } from "./derived-keys";

/** RFC 5869 HKDF-SHA-256 written out (empty salt, one block), to check deriveKey is exactly that. */
function referenceHkdf(secret: string, info: string): Buffer {
  const prk = createHmac("sha256", Buffer.alloc(32)).update(secret).digest();
  return createHmac("sha256", prk).update(Buffer.concat([Buffer.from(info), Buffer.from([1])])).digest();
}

describe("deriveKey", () => {
  const secret = "a-secret-of-at-least-thirty-two-characters";

  it("is HKDF-SHA-256 with an empty salt: 32 bytes, deterministic", () => {
    const k = deriveKey(secret, KEY_INFO.apiKeyHmac);
    expect(k).toHaveLength(32);
    expect(k.equals(deriveKey(secret, KEY_INFO.apiKeyHmac))).toBe(true);
    expect(k.equals(referenceHkdf(secret, KEY_INFO.apiKeyHmac))).toBe(true);
  });

  it("gives each purpose, and each secret, its own key", () => {
    const a = deriveKey(secret, KEY_INFO.apiKeyHmac);
    const b = deriveKey(secret, KEY_INFO.accessToken);
    const c = deriveKey(secret + "x", KEY_INFO.apiKeyHmac);
    expect(a.equals(b)).toBe(false);
    expect(a.equals(c)).toBe(false);
    expect(a.equals(Buffer.from(secret).subarray(0, 32))).toBe(false);
  });

  it("uses the versioned info strings the design names", () => {
    expect(KEY_INFO).toEqual({
      apiKeyHmac: "switchyard/api-key-hmac/v1",
      accessToken: "switchyard/access-token/v1",
      usageExport: "switchyard/usage-export/v1",
      backendCredential: "switchyard/backend-credential/v1",
      signingSecret: "switchyard/signing-secret/v1",
      redaction: "switchyard/redaction-hash/v1",
    });
  });
});
