/** Input shapes for users — shared by tRPC, the CLI and the console forms (client-safe: zod only). */
import { z } from "zod";

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "Enter a valid email address" }).max(254));

export const Password = z
  .string()
  .min(10, "Use at least 10 characters")
  .max(200, "Use at most 200 characters");

export const CreateUserInput = z.object({
  email: Email,
  name: z.string().trim().max(100, "Use at most 100 characters").default(""),
  password: Password,
  isPlatformAdmin: z.boolean().default(false),
});
export type CreateUserInput = z.infer<typeof CreateUserInput>;

export const SetUserDisabledInput = z.object({ userId: z.string().min(1), disabled: z.boolean() });
export type SetUserDisabledInput = z.infer<typeof SetUserDisabledInput>;

export const ChangePasswordInput = z.object({ currentPassword: z.string().min(1), newPassword: Password });
export type ChangePasswordInput = z.infer<typeof ChangePasswordInput>;
