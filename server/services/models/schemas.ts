/** Input shapes for local models — shared by tRPC, the CLI and the console (client-safe: zod only). */
import { z } from "zod";

export const ModelName = z
  .string()
  .trim()
  .min(1, "Enter a model name")
  .max(100, "Use at most 100 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "Use letters, digits and . _ : / - (starting with a letter or digit)");

export const AddModelInput = z.object({
  name: ModelName,
  /** a GGUF path, or an hf: URI (download it first with `model pull`) */
  source: z.string().trim().min(1, "Enter a GGUF path or an hf: URI"),
  kind: z.enum(["chat", "embedding"]).default("chat"),
  contextSize: z.number().int().min(128).max(1_048_576).default(4096),
  parallel: z.number().int().min(1).max(64).default(4),
  threads: z.number().int().min(1).max(256).nullish(),
  chatTemplate: z.string().trim().max(64).nullish(),
  loadAtStartup: z.boolean().default(false),
});
export type AddModelInput = z.input<typeof AddModelInput>;

export const ModelAccessInput = z.object({
  name: ModelName,
  /** every tenant may use it */
  public: z.boolean(),
  /** with public false: the tenants that may */
  tenantIds: z.array(z.string().min(1)).max(10_000).default([]),
});
export type ModelAccessInput = z.input<typeof ModelAccessInput>;
