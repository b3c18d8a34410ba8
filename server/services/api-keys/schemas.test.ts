import { describe, expect, it } from "vitest";
import { API_SCOPES } from "../../auth/principal";
import { CreateApiKeyInput, ExpiresIn, RevokeApiKeyInput, apiKeyStatus, parseExpiresIn } from "./schemas";

const issues = (r: { error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  r.error!.issues.map((i) => [i.path.join("."), i.message]);

describe("CreateApiKeyInput", () => {
  it("defaults: every scope, every model, no expiry; the name is trimmed", () => {
    expect(CreateApiKeyInput.parse({ name: "  CI  " })).toEqual({
      name: "CI",
      scopes: [...API_SCOPES],
      models: null,
      expiresAt: null,
    });
    expect(CreateApiKeyInput.parse({ name: "x", models: null, expiresAt: null })).toMatchObject({ models: null, expiresAt: null });
  });

  it("scopes: a subset, deduplicated, in canonical order", () => {
    expect(CreateApiKeyInput.parse({ name: "x", scopes: ["models", " chat", "models"] }).scopes).toEqual(["chat", "models"]);
  });

  it("refuses unknown or no scopes, naming the list (not an index)", () => {
    expect(issues(CreateApiKeyInput.safeParse({ name: "x", scopes: ["chat", "admin", "root"] }))).toEqual([
      ["scopes", 'Unknown scope "admin", "root" (use chat, completions, embeddings, models)'],
    ]);
    expect(issues(CreateApiKeyInput.safeParse({ name: "x", scopes: [] }))).toEqual([["scopes", "Choose at least one scope"]]);
  });

  it("models: trimmed and deduplicated; an empty list or a blank name is refused", () => {
    expect(CreateApiKeyInput.parse({ name: "x", models: [" qwen ", "qwen", "org/model:q4"] }).models).toEqual([
      "qwen",
      "org/model:q4",
    ]);
    expect(issues(CreateApiKeyInput.safeParse({ name: "x", models: [] }))[0]![0]).toBe("models");
    expect(issues(CreateApiKeyInput.safeParse({ name: "x", models: ["a", "  "] }))).toEqual([
      ["models", "Model names cannot be empty"],
    ]);
    expect(issues(CreateApiKeyInput.safeParse({ name: "x", models: ["m".repeat(201)] }))[0]![0]).toBe("models");
    expect(CreateApiKeyInput.safeParse({ name: "x", models: Array.from({ length: 101 }, (_, i) => `m${i}`) }).success).toBe(false);
  });

  it("expiresAt must be a date in the future", () => {
    const future = new Date(Date.now() + 60_000);
    expect(CreateApiKeyInput.parse({ name: "x", expiresAt: future }).expiresAt).toEqual(future);
    expect(issues(CreateApiKeyInput.safeParse({ name: "x", expiresAt: new Date(Date.now() - 1) }))).toEqual([
      ["expiresAt", "Choose a time in the future"],
    ]);
    expect(issues(CreateApiKeyInput.safeParse({ name: "x", expiresAt: "2099-01-01" }))[0]![0]).toBe("expiresAt");
    expect(CreateApiKeyInput.safeParse({ name: "x", expiresAt: new Date("nonsense") }).success).toBe(false);
  });

  it("name: 1–100 characters after trimming", () => {
    expect(issues(CreateApiKeyInput.safeParse({ name: "   " }))).toEqual([["name", "Enter a name"]]);
    expect(CreateApiKeyInput.safeParse({ name: "n".repeat(100) }).success).toBe(true);
    expect(issues(CreateApiKeyInput.safeParse({ name: "n".repeat(101) }))).toEqual([["name", "Use at most 100 characters"]]);
  });
});

describe("RevokeApiKeyInput", () => {
  it("needs a keyId", () => {
    expect(RevokeApiKeyInput.parse({ keyId: "key_1" })).toEqual({ keyId: "key_1" });
    expect(issues(RevokeApiKeyInput.safeParse({ keyId: "" }))).toEqual([["keyId", "keyId is required"]]);
  });
});

describe("parseExpiresIn", () => {
  const now = Date.UTC(2030, 0, 1);
  it.each([
    ["30d", 30 * 86_400_000],
    ["12h", 12 * 3_600_000],
    ["90m", 90 * 60_000],
    [" 1d ", 86_400_000],
    ["3650d", 3650 * 86_400_000],
  ])("%s", (text, ms) => {
    expect(parseExpiresIn(text, now)).toEqual(new Date(now + ms));
  });

  it.each(["", "30", "d", "0d", "-1d", "1.5h", "30s", "2w", "30D", "1d12h", "3651d", "99999999999d", "abc"])(
    "refuses %j",
    (text) => {
      expect(parseExpiresIn(text, now)).toBeNull();
    },
  );

  it("ExpiresIn parses to a Date or explains the format", () => {
    const d = ExpiresIn.parse("1h");
    expect(d.getTime() - Date.now()).toBeGreaterThan(3_590_000);
    expect(d.getTime() - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(ExpiresIn.safeParse("forever").error!.issues[0]!.message).toBe(
      'Use a duration like "30d", "12h" or "90m" (at most 3650d)',
    );
  });
});

describe("apiKeyStatus", () => {
  const now = Date.UTC(2030, 0, 1);
  it("revoked wins, then expired (at or after expiresAt), else active", () => {
    expect(apiKeyStatus({ revokedAt: null, expiresAt: null }, now)).toBe("active");
    expect(apiKeyStatus({ revokedAt: null, expiresAt: new Date(now + 1) }, now)).toBe("active");
    expect(apiKeyStatus({ revokedAt: null, expiresAt: new Date(now) }, now)).toBe("expired");
    expect(apiKeyStatus({ revokedAt: new Date(now - 5), expiresAt: new Date(now - 1) }, now)).toBe("revoked");
  });
});
