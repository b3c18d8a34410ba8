import { TRPCClientError } from "@trpc/client";
import type { AppRouter } from "@/server/trpc/root";

/** The tRPC error code the server answered with (e.g. "NOT_FOUND"); undefined for anything that isn't a tRPC error. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof TRPCClientError ? (error as TRPCClientError<AppRouter>).data?.code : undefined;
}

/** A sentence for the user, and per-field messages when the server named fields. */
export function describeError(error: unknown): { message: string; fields: Record<string, string> } {
  if (error instanceof TRPCClientError) {
    const e = error as TRPCClientError<AppRouter>;
    const fields: Record<string, string> = {};
    const fe = e.data?.fieldErrors as Record<string, string[] | undefined> | null | undefined;
    if (fe) for (const [k, v] of Object.entries(fe)) if (v?.[0]) fields[k] = v[0];
    if (e.data?.field) fields[e.data.field] = e.message;
    if (e.data?.code === "UNAUTHORIZED") return { message: "Your session has ended. Sign in again.", fields };
    return { message: e.message, fields };
  }
  if (error instanceof Error && /fetch/i.test(error.message)) {
    return { message: "Can't reach the server. Check your connection and try again.", fields: {} };
  }
  return { message: "Something went wrong. Try again.", fields: {} };
}
