import { describe, expect, it } from "vitest";
import {
  API_KEY_LENGTH,
  API_KEY_PREFIX,
  KEY_BODY_LENGTH,
  KEY_PREFIX_LENGTH,
  base62,
  generateApiKey,
  hashApiKey,
  isApiKeyFormat,
  keyDisplayPrefix,
} from "./key-format";

describe("generateApiKey", () => {
  it("is sk-sy- and 43 base62 characters (32 random bytes)", () => {
    expect(KEY_BODY_LENGTH).toBe(43);
    expect(62 ** 43).toBeGreaterThan(2 ** 256); // 43 characters hold any 32 bytes
    expect(62 ** 42).toBeLessThan(2 ** 256); // …and 42 would not
    for (let i = 0; i < 50; i++) {
      const key = generateApiKey();
      expect(key).toMatch(/^sk-sy-[0-9A-Za-z]{43}$/);
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(isApiKeyFormat(key)).toBe(true);
    }
  });

  it("encodes the random bytes it is given, all of them", () => {
    expect(generateApiKey(() => new Uint8Array(32))).toBe(API_KEY_PREFIX + "0".repeat(43));
    const max = generateApiKey(() => new Uint8Array(32).fill(255));
    expect(isApiKeyFormat(max)).toBe(true);
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    b[0] = 1; // differs only in the first (most significant) byte
    expect(generateApiKey(() => a)).not.toBe(generateApiKey(() => b));
  });

  it("does not repeat", () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey()));
    expect(keys.size).toBe(1000);
  });
});

describe("base62", () => {
  it("is big-endian base62, padded to the length asked for", () => {
    expect(base62(new Uint8Array([0]), 3)).toBe("000");
    expect(base62(new Uint8Array([61]), 2)).toBe("0z");
    expect(base62(new Uint8Array([62]), 2)).toBe("10");
    expect(base62(new Uint8Array([1, 0]), 3)).toBe("048"); // 256 = 4·62 + 8
    expect(() => base62(new Uint8Array([255, 255]), 2)).toThrow(/needs 3 characters/);
  });
});

describe("isApiKeyFormat", () => {
  const good = generateApiKey();
  it.each([
    ["wrong prefix", "sk-xx-" + good.slice(6)],
    ["no prefix", good.slice(6)],
    ["OpenAI-style key", "sk-proj-" + "a".repeat(43)],
    ["one character short", good.slice(0, -1)],
    ["one character long", good + "a"],
    ["a character outside base62", good.slice(0, -1) + "_"],
    ["whitespace around it", ` ${good}`],
    ["empty", ""],
  ])("rejects %s", (_why, value) => {
    expect(isApiKeyFormat(value)).toBe(false);
  });
  it("rejects non-strings", () => {
    expect(isApiKeyFormat(undefined)).toBe(false);
    expect(isApiKeyFormat(42)).toBe(false);
  });
});

describe("keyDisplayPrefix", () => {
  it("is the first 12 characters: sk-sy- and 6 of the key", () => {
    const key = generateApiKey();
    expect(keyDisplayPrefix(key)).toBe(key.slice(0, 12));
    expect(KEY_PREFIX_LENGTH).toBe(12);
  });
});

describe("hashApiKey", () => {
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  const key = generateApiKey();

  it("is deterministic HMAC-SHA-256, hex", () => {
    expect(hashApiKey(key, k1)).toBe(hashApiKey(key, k1));
    expect(hashApiKey(key, k1)).toMatch(/^[0-9a-f]{64}$/);
    // RFC 4231 test case 2
    expect(hashApiKey("what do ya want for nothing?", Buffer.from("Jefe"))).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("depends on the server key and on every character of the key", () => {
    expect(hashApiKey(key, k1)).not.toBe(hashApiKey(key, k2));
    const flipped = key.slice(0, -1) + (key.endsWith("a") ? "b" : "a");
    expect(hashApiKey(flipped, k1)).not.toBe(hashApiKey(key, k1));
    expect(hashApiKey(key, k1)).not.toContain(key.slice(6, 20));
  });
});
