/**
 * Money as integers: every amount is a whole number of nano-units (1e-9) of the
 * deployment's currency (SPEND_CURRENCY), so sums never drift. Prices are nano-units
 * per million tokens; a request's cost is
 *
 *   round_half_up((uncached_in × input + cached_in × cached_input + out × output) / 1e6) + per_request
 *
 * in BigInt — one rounding per row, to the nano-unit, and rollups add those exact rows.
 * Client-safe (no I/O): the console formats with the same functions.
 */

export const NANO_PER_UNIT = 1_000_000_000n;
const DECIMAL = /^(\d{1,12})(?:\.(\d{1,9}))?$/;

/** "0.15" → 150000000n (exact; no float ever touches the digits). Returns null for anything else. */
export function parseAmount(text: string): bigint | null {
  const m = DECIMAL.exec(text.trim());
  if (!m) return null;
  return BigInt(m[1]!) * NANO_PER_UNIT + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** 150000000n → "0.15"; at least `minDecimals` decimals, trailing zeros beyond them dropped. */
export function formatAmount(nano: bigint | number, minDecimals = 2): string {
  const n = BigInt(nano);
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const whole = abs / NANO_PER_UNIT;
  let frac = (abs % NANO_PER_UNIT).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, "0");
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** "$1.23"-style display with the currency code: "1.23 USD"; unpriced shows as such, never as 0. */
export function formatMoney(nano: bigint | number | null | undefined, currency: string, minDecimals = 2): string {
  if (nano === null || nano === undefined) return "unpriced";
  return `${formatAmount(nano, minDecimals)} ${currency}`;
}

export interface PriceAmounts {
  inputNanoPerM: bigint;
  /** null = the input price */
  cachedInputNanoPerM: bigint | null;
  outputNanoPerM: bigint;
  requestNano: bigint;
}

export interface CostInput {
  promptTokens: number;
  /** of promptTokens, how many the upstream served from its prompt cache */
  cachedTokens: number;
  completionTokens: number;
  /** the per-request price applies to requests that ran a model */
  charged: boolean;
}

const MILLION = 1_000_000n;

function tokens(n: number): bigint {
  return Number.isFinite(n) && n > 0 ? BigInt(Math.floor(n)) : 0n;
}

/** The cost of one request under one price, in nano-units. */
export function costNano(price: PriceAmounts, u: CostInput): bigint {
  const prompt = tokens(u.promptTokens);
  const cached = tokens(u.cachedTokens) > prompt ? prompt : tokens(u.cachedTokens);
  const perM =
    (prompt - cached) * price.inputNanoPerM +
    cached * (price.cachedInputNanoPerM ?? price.inputNanoPerM) +
    tokens(u.completionTokens) * price.outputNanoPerM;
  // half up: add half the divisor before the (truncating, non-negative) division
  const variable = (perM + MILLION / 2n) / MILLION;
  return variable + (u.charged ? price.requestNano : 0n);
}

/**
 * What to reserve at admission: `tokens` (the limiter's estimate: prompt + max output)
 * at the dearer of the input and output prices, plus the per-request price — an upper
 * bound, settled down to the real cost when the request ends.
 */
export function estimateNano(price: PriceAmounts, estimatedTokens: number): bigint {
  const rate = price.outputNanoPerM > price.inputNanoPerM ? price.outputNanoPerM : price.inputNanoPerM;
  return (tokens(estimatedTokens) * rate + MILLION - 1n) / MILLION + price.requestNano;
}
