/** Input shapes for tenants — shared by tRPC, the CLI and the console forms (client-safe: zod only). */
import { z } from "zod";

export const TenantSlug = z
  .string()
  .trim()
  .toLowerCase()
  .min(2, "Use at least 2 characters")
  .max(40, "Use at most 40 characters")
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "Use lower-case letters, digits and dashes (not at the ends)");

export const TenantName = z.string().trim().min(1, "Enter a name").max(100, "Use at most 100 characters");

export const CreateTenantInput = z.object({ slug: TenantSlug, name: TenantName });
export type CreateTenantInput = z.infer<typeof CreateTenantInput>;

export const UpdateTenantInput = z.object({ name: TenantName });
export type UpdateTenantInput = z.infer<typeof UpdateTenantInput>;

export const TenantStatusInput = z.enum(["active", "suspended"]);
