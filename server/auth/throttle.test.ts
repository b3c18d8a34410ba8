import { describe, expect, it } from "vitest";
import { LIMITS, throttleKeys } from "./throttle";

describe("throttleKeys", () => {
  it("keys the account (normalised) and, when known, the IP, each with its limit", () => {
    expect(throttleKeys("  Alice@Example.TEST ", "203.0.113.9")).toEqual([
      { key: "acct:alice@example.test", limit: LIMITS.account },
      { key: "ip:203.0.113.9", limit: LIMITS.ip },
    ]);
    expect(throttleKeys("bob@example.test", null)).toEqual([{ key: "acct:bob@example.test", limit: LIMITS.account }]);
  });

  it("allows an IP more failures than one account (many users behind one NAT)", () => {
    expect(LIMITS.ip).toBeGreaterThan(LIMITS.account);
  });
});
