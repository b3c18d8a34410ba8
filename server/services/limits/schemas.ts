/**
 * Input shapes for limits — shared by tRPC, the CLI and the console forms (client-safe: zod only).
 * In a patch, a field left out keeps its value and `null` removes that limit.
 */
import { z } from "zod";
import { parseAmount } from "../../lib/money";

const MAX_LIMIT = 1_000_000_000;
/** budgets are BigInt columns; 2^53 keeps them exact as JS numbers */
const MAX_BUDGET = Number.MAX_SAFE_INTEGER;

const limit = (what: string, max = MAX_LIMIT) =>
  z
    .number({ message: `${what} must be a whole number, or null for no limit` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1 (use null for no limit)`)
    .max(max, `${what} must be at most ${max}`)
    .nullable()
    .optional();

/** Largest money budget: 9 million units, so nano-unit counters stay exact JS numbers (2^53). */
const MAX_SPEND_NANO = 9_000_000n * 1_000_000_000n;

const money = (what: string) =>
  z
    .string({ message: `${what} must be an amount like "50" or "12.50", or null for no budget` })
    .trim()
    .refine((v) => parseAmount(v) !== null, { message: `${what} must be an amount like "50" or "12.50" (up to 9 decimals)` })
    .refine((v) => (parseAmount(v) ?? 0n) > 0n, { message: `${what} must be more than 0 (use null for no budget)` })
    .refine((v) => (parseAmount(v) ?? 0n) <= MAX_SPEND_NANO, { message: `${what} must be at most 9000000` })
    .nullable()
    .optional();

export const LimitsPatch = z.object({
  rpm: limit("Requests per minute"),
  tpm: limit("Tokens per minute"),
  maxConcurrent: limit("Concurrent requests", 100_000),
  monthlyTokenBudget: limit("Monthly token budget", MAX_BUDGET),
  /** money budgets in the deployment's currency (SPEND_CURRENCY), reserved at admission and settled with the real cost */
  monthlySpendBudget: money("The monthly spend budget"),
  dailySpendBudget: money("The daily spend budget"),
});
export type LimitsPatch = z.infer<typeof LimitsPatch>;

export const SetTenantLimitsInput = LimitsPatch.extend({
  /** usage share of the monthly budget at which responses carry a warning; null = the default (80) */
  budgetWarnPercent: z
    .number({ message: "The warning threshold must be a whole percentage" })
    .int("The warning threshold must be a whole percentage")
    .min(1, "The warning threshold must be between 1 and 100")
    .max(100, "The warning threshold must be between 1 and 100")
    .nullable()
    .optional(),
});
export type SetTenantLimitsInput = z.infer<typeof SetTenantLimitsInput>;

export const SetKeyLimitsInput = LimitsPatch.extend({ keyId: z.string().min(1, "keyId is required") });
export type SetKeyLimitsInput = z.infer<typeof SetKeyLimitsInput>;

/** The CLI's spelling of a money budget: an amount, or "none"/"off" to remove it. */
export function parseMoneyFlag(value: string): string | null | undefined {
  const v = value.trim().toLowerCase();
  if (v === "none" || v === "off" || v === "unlimited") return null;
  return parseAmount(v) === null ? undefined : v;
}

/** The CLI's spelling of a limit: a positive whole number, or "none"/"off" to remove it. */
export function parseLimitFlag(value: string): number | null | undefined {
  const v = value.trim().toLowerCase();
  if (v === "none" || v === "off" || v === "unlimited") return null;
  if (!/^\d+$/.test(v)) return undefined;
  return Number(v);
}
