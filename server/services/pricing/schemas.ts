/**
 * Input shapes for prices — shared by tRPC, the CLI and the console (client-safe: zod only).
 * Amounts are decimal strings in the deployment's currency ("2.50"), parsed exactly (server/lib/money.ts).
 */
import { z } from "zod";
import { parseAmount } from "../../lib/money";

const amount = (what: string) =>
  z
    .string({ message: `${what} must be a decimal amount like "2.50"` })
    .trim()
    .refine((v) => parseAmount(v) !== null, { message: `${what} must be a decimal amount like "2.50" (up to 9 decimals)` });

export const SetPriceInput = z.object({
  /** the served model's name (a local model's name, or a backend's upstream model id) */
  model: z.string().trim().min(1, "model is required").max(200),
  /** a backend's id: this price applies only where that backend serves the model; omitted = wherever it is served */
  backendId: z.string().trim().max(100).nullable().optional(),
  /** per million input tokens */
  input: amount("The input price"),
  /** per million cached input tokens; omitted = the input price */
  cachedInput: amount("The cached input price").nullable().optional(),
  /** per million output tokens */
  output: amount("The output price"),
  /** per request that ran the model */
  perRequest: amount("The per-request price").optional(),
  /** ISO 4217; must be the deployment's SPEND_CURRENCY (default USD) */
  currency: z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, "currency must be a three-letter code like USD").optional(),
  /** when it takes effect; omitted = now. Never before an existing version of the same price's latest effective date. */
  effectiveFrom: z.coerce.date({ message: "effectiveFrom must be a date" }).optional(),
});
export type SetPriceInput = z.input<typeof SetPriceInput>;

export const PriceHistoryInput = z.object({
  model: z.string().trim().min(1),
  backendId: z.string().trim().nullable().optional(),
});
export type PriceHistoryInput = z.infer<typeof PriceHistoryInput>;

/** One entry of the seed price list (prisma/seed/prices.json). */
export const SeedPrice = z.object({
  model: z.string().min(1),
  input: amount("input"),
  cachedInput: amount("cachedInput").optional(),
  output: amount("output"),
});
export const SeedPriceList = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/),
  asOf: z.string(),
  note: z.string().optional(),
  prices: z.array(SeedPrice),
});
export type SeedPriceList = z.infer<typeof SeedPriceList>;

export const ImportSeedInput = z.object({
  /** also add a new version for models that already have a price (default: only price the unpriced) */
  overwrite: z.boolean({ message: "overwrite must be true or false" }).default(false),
});
export type ImportSeedInput = z.input<typeof ImportSeedInput>;
