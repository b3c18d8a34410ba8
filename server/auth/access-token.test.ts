import { describe, expect, it } from "vitest";
import { credentialKind } from "./access-token";
import { bearerToken } from "./bearer";

describe("credentialKind", () => {
  it("API keys start with sk-; JWTs are three base64url segments", () => {
    expect(credentialKind("sk-sy-abc")).toBe("api_key");
    expect(credentialKind("sk-anything")).toBe("api_key");
    expect(credentialKind("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl")).toBe("access_token");
  });

  it.each(["", "abc", "a.b", "a.b.c.d", "a..c", "a.b.c d", "a.b.c=", `${"a".repeat(4096)}.b.c`])(
    "refuses %j",
    (token) => {
      expect(credentialKind(token)).toBeNull();
    },
  );
});

describe("bearerToken", () => {
  it("reads `Bearer <token>` (any case, surrounding blanks)", () => {
    expect(bearerToken("Bearer sk-sy-abc")).toBe("sk-sy-abc");
    expect(bearerToken("bearer   a.b.c ")).toBe("a.b.c");
  });
  it.each([null, undefined, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "sk-sy-abc"])("refuses %j", (h) => {
    expect(bearerToken(h)).toBeNull();
  });
});
