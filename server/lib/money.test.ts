import { describe, expect, it } from "vitest";
import { costNano, estimateNano, formatAmount, formatMoney, parseAmount } from "./money";

const price = (input: string, output: string, cached: string | null = null, perRequest = "0") => ({
  inputNanoPerM: parseAmount(input)!,
  cachedInputNanoPerM: cached === null ? null : parseAmount(cached)!,
  outputNanoPerM: parseAmount(output)!,
  requestNano: parseAmount(perRequest)!,
});

describe("amounts", () => {
  it("parses decimals exactly, refuses anything else", () => {
    expect(parseAmount("0.15")).toBe(150_000_000n);
    expect(parseAmount("2.5")).toBe(2_500_000_000n);
    expect(parseAmount("0.000000001")).toBe(1n);
    expect(parseAmount(" 10 ")).toBe(10_000_000_000n);
    for (const bad of ["", "-1", "1e3", "0.0000000001", "1,5", "abc", "."]) expect(parseAmount(bad)).toBeNull();
  });

  it("formats back without losing a digit", () => {
    expect(formatAmount(150_000_000n)).toBe("0.15");
    expect(formatAmount(1n)).toBe("0.000000001");
    expect(formatAmount(12_000_000_000n)).toBe("12.00");
    expect(formatAmount(0n, 0)).toBe("0");
    expect(formatMoney(null, "USD")).toBe("unpriced");
    expect(formatMoney(2_500_000n, "USD")).toBe("0.0025 USD");
  });
});

describe("costNano", () => {
  it("is exact where floats drift: 3 × 0.1 per million tokens", () => {
    // 0.1 + 0.2 !== 0.3 in floats; here every step is an integer
    const p = price("0.1", "0.2");
    expect(costNano(p, { promptTokens: 1_000_000, cachedTokens: 0, completionTokens: 1_000_000, charged: true })).toBe(300_000_000n);
    // a million requests of 7 tokens each add up to the cost of 7 million tokens, to the nano-unit
    let sum = 0n;
    const gpt4oMini = price("0.15", "0.60");
    for (let i = 0; i < 1000; i++) sum += costNano(gpt4oMini, { promptTokens: 7000, cachedTokens: 0, completionTokens: 3000, charged: true });
    expect(sum).toBe(costNano(gpt4oMini, { promptTokens: 7_000_000, cachedTokens: 0, completionTokens: 3_000_000, charged: true }));
    expect(formatAmount(sum)).toBe("2.85");
  });

  it("prices cached input tokens at the cached price, the rest at the input price", () => {
    const p = price("2.50", "10.00", "1.25");
    // 1000 prompt tokens of which 600 cached, 200 output: 400×2.5 + 600×1.25 + 200×10 = 3750 per M → 0.00375
    expect(costNano(p, { promptTokens: 1000, cachedTokens: 600, completionTokens: 200, charged: true })).toBe(3_750_000n);
    // no cached price: cached tokens cost the input price
    expect(costNano(price("2.50", "10.00"), { promptTokens: 1000, cachedTokens: 600, completionTokens: 200, charged: true })).toBe(4_500_000n);
    // more cached than prompt tokens (a confused upstream) never makes a negative cost
    expect(costNano(p, { promptTokens: 10, cachedTokens: 50, completionTokens: 0, charged: true })).toBe(12_500n);
  });

  it("rounds half up to the nano-unit once per row, and adds the per-request price only to requests that ran", () => {
    const p = price("0.000000001", "0", null, "0.01");
    expect(costNano(p, { promptTokens: 499_999, cachedTokens: 0, completionTokens: 0, charged: false })).toBe(0n);
    expect(costNano(p, { promptTokens: 500_000, cachedTokens: 0, completionTokens: 0, charged: false })).toBe(1n);
    expect(costNano(p, { promptTokens: 0, cachedTokens: 0, completionTokens: 0, charged: true })).toBe(10_000_000n);
  });

  it("estimates an upper bound: every estimated token at the dearer price, rounded up", () => {
    const p = price("1", "3", null, "0.5");
    expect(estimateNano(p, 1000)).toBe(3_000_000n + 500_000_000n);
    expect(estimateNano(price("0", "0.000000001"), 1)).toBe(1n);
    expect(estimateNano(p, 1000)).toBeGreaterThanOrEqual(costNano(p, { promptTokens: 400, cachedTokens: 0, completionTokens: 600, charged: true }));
  });
});
