/**
 * Flags and flag readers more than one command group shares, so the same flag
 * reads and is described the same way everywhere (help text is part of the CLI's
 * interface).
 */
import type { FlagSpec, Flags } from "./args";
import { str } from "./args";
import { CliError } from "./format";
import type { Ctx } from "./registry";

export const tenantFlag: FlagSpec = { type: "string", value: "SLUG", required: true, description: "Tenant slug" };
export const emailFlag: FlagSpec = { type: "string", value: "EMAIL", required: true, description: "The user's email" };

export const passwordFlags: Record<string, FlagSpec> = {
  password: { type: "string", value: "PASSWORD", description: "Password (visible in the process list: prefer the two below)" },
  "password-env": { type: "string", value: "VAR", description: "Read the password from environment variable VAR" },
  "password-stdin": { type: "boolean", description: "Read the password from standard input (one line)" },
};
export const passwordOneOf = [{ flags: ["password", "password-env", "password-stdin"], required: true }] as const;

/** The password from whichever of passwordFlags was given (the parser required exactly one). */
export async function readPassword(ctx: Ctx, flags: Flags): Promise<string> {
  const direct = str(flags, "password");
  if (direct !== undefined) return direct;
  const variable = str(flags, "password-env");
  if (variable !== undefined) {
    const value = ctx.env[variable];
    if (value === undefined || value === "") throw new CliError(`environment variable ${variable} is not set`);
    return value;
  }
  const input = await ctx.readStdin();
  return input.replace(/\r?\n$/, "");
}
