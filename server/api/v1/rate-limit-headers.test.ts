import { describe, expect, it } from "vitest";
import { formatDuration, rateLimitHeaders } from "./rate-limit-headers";

describe("rate-limit headers", () => {
  it("formats reset durations like OpenAI", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(20)).toBe("20ms");
    expect(formatDuration(1000)).toBe("1s");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(360_000)).toBe("6m0s");
  });

  it("renders only the limits a report has", () => {
    expect(rateLimitHeaders({ budgetWarnings: [] })).toEqual({});
    expect(rateLimitHeaders({ requests: { limit: 60, remaining: 59, resetMs: 1500 }, budgetWarnings: ["a", "b"] })).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1.5s",
      "x-switchyard-budget-warning": "a; b",
    });
  });
});
