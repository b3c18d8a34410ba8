/** Input shapes for remote backends — shared by tRPC and the console (client-safe: zod only). */
import { z } from "zod";

export const BackendName = z
  .string()
  .trim()
  .min(1, "Enter a backend name")
  .max(64, "Use at most 64 characters")
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "Use lower-case letters, digits and . _ - (starting with a letter or digit)");

export const BaseUrl = z
  .string()
  .trim()
  .max(500, "Use at most 500 characters")
  .url("Enter a URL such as http://10.0.0.5:8080/v1")
  .refine((u) => /^https?:\/\//i.test(u), "The URL must start with http:// or https://")
  .refine((u) => {
    try {
      const url = new URL(u);
      return !url.username && !url.password;
    } catch {
      return false;
    }
  }, "Put the credential in the credential field, not in the URL");

/**
 * Image input: null = not declared (requests with images are forwarded and the upstream
 * decides; models its /models lists as taking images count as capable), true = accepts
 * images, false = text only (routing skips it for requests with images).
 */
export const Vision = z.boolean({ message: "Say whether it accepts images (true, false or null for not declared)" }).nullable();

export const VISION_CHOICES = [
  { value: "unset", vision: null, label: "Not declared (forward; the upstream decides)" },
  { value: "yes", vision: true, label: "Accepts images" },
  { value: "no", vision: false, label: "Text only" },
] as const;

const Timeout = (max: number) => z.number().int("Use whole milliseconds").min(100, "At least 100 ms").max(max, `At most ${max} ms`);

export const CreateBackendInput = z.object({
  name: BackendName,
  baseUrl: BaseUrl,
  /** bearer credential for the upstream; encrypted at rest, never returned */
  credential: z.string().trim().min(1, "Leave the credential out instead of sending it empty").max(4096).optional(),
  /** model ids it serves; discovered from GET {baseUrl}/models when `discover` is set */
  models: z.array(z.string().trim().min(1).max(200)).max(1000).default([]),
  discover: z.boolean().default(true),
  connectTimeoutMs: Timeout(60_000).default(5000),
  firstTokenTimeoutMs: Timeout(600_000).default(60_000),
  totalTimeoutMs: Timeout(3_600_000).default(600_000),
  /** every tenant may route to it; otherwise grant tenants with backends.setAccess (its cost is the platform's) */
  public: z.boolean().default(false),
  vision: Vision.default(null),
});
export type CreateBackendInput = z.input<typeof CreateBackendInput>;

export const UpdateBackendInput = z.object({
  id: z.string().min(1, "id is required"),
  baseUrl: BaseUrl.optional(),
  /** a string replaces it, null removes it, absent keeps it */
  credential: z.string().trim().min(1, "Send null to remove the credential").max(4096).nullish(),
  models: z.array(z.string().trim().min(1).max(200)).max(1000).optional(),
  enabled: z.boolean().optional(),
  connectTimeoutMs: Timeout(60_000).optional(),
  firstTokenTimeoutMs: Timeout(600_000).optional(),
  totalTimeoutMs: Timeout(3_600_000).optional(),
  /** true / false declares it, null clears the declaration, absent keeps it */
  vision: Vision.optional(),
});
export type UpdateBackendInput = z.input<typeof UpdateBackendInput>;

export const BackendIdInput = z.object({ id: z.string().min(1, "id is required") });

export const BackendAccessInput = z.object({
  id: z.string().min(1, "id is required"),
  /** every tenant may route to it */
  public: z.boolean({ message: "Say whether every tenant may use it" }),
  /** with public false: the tenants that may */
  tenantIds: z.array(z.string().min(1)).max(10_000).default([]),
});
export type BackendAccessInput = z.input<typeof BackendAccessInput>;
