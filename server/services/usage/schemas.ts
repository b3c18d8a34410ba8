import { z } from "zod";

export const OVERVIEW_RANGES = ["24h", "7d", "30d"] as const;
export const OverviewRange = z.enum(OVERVIEW_RANGES);
export type OverviewRange = z.infer<typeof OverviewRange>;

/** Filters of the usage log; the same object drives the table, the row count and the CSV export. */
export const UsageFilter = z
  .object({
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    apiKeyId: z.string().trim().min(1).max(64).optional(),
    model: z.string().trim().min(1).max(200).optional(),
    status: z.enum(["ok", "error", "cancelled"]).optional(),
    /** a request id, or the start of one */
    requestId: z.string().trim().min(1).max(200).optional(),
  })
  .refine((f) => !f.from || !f.to || f.from < f.to, { message: "The start must be before the end", path: ["to"] });
export type UsageFilter = z.infer<typeof UsageFilter>;

export const UsageListInput = z.object({
  tenantId: z.string().min(1),
  filter: UsageFilter.default({}),
  cursor: z.string().max(100).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});

export const UsageGetInput = z.object({ tenantId: z.string().min(1), id: z.string().min(1).max(64) });
