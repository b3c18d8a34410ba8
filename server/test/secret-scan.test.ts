import { describe, expect, it } from "vitest";
import { generateSigningSecret } from "../auth/request-signing";
import { generateApiKey } from "../auth/key-format";
import { scanTexts } from "./secret-scan";

describe("scanTexts (the leak check run after the integration suite)", () => {
  it("finds API keys, signing secrets and known plaintexts, and names where, never the secret", () => {
    const key = generateApiKey();
    const secret = generateSigningSecret();
    const findings = scanTexts(
      [
        ["log a", `request with Bearer ${key}`],
        ["row b", JSON.stringify({ data: secret })],
        ["row c", "upstream said: sk-upstream-credential-123"],
        ["clean", "prefix sk-sy-AbC123 only, v1.abc.def.ghi"],
      ],
      ["sk-upstream-credential-123", "short"],
    );
    expect(findings.map((f) => f.where)).toEqual(["log a", "row b", "row c"]);
    expect(JSON.stringify(findings)).not.toContain(key);
    expect(JSON.stringify(findings)).not.toContain(secret);
    expect(JSON.stringify(findings)).not.toContain("credential-123");
  });
});
