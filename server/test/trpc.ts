/**
 * Helpers for integration tests that drive the real tRPC router: call a
 * procedure by its path (so tests can be tables), check a failure the way the
 * client sees it (after the app's errorFormatter), and snapshot a tenant's rows.
 */
import { type AnyProcedure, TRPCError, getErrorShape, type inferRouterInputs } from "@trpc/server";
import { expect } from "vitest";
import { db } from "../db/client";
import { type AppRouter, appRouter } from "../trpc/root";
import type { callerFor } from "./fixtures";
import { tenantTables } from "./tenant-tables";

export type RouterInputs = inferRouterInputs<AppRouter>;
/** "tenants.get", "members.add", … — every procedure of the app router. */
export type ProcedurePath = {
  [R in keyof RouterInputs]: `${R & string}.${keyof RouterInputs[R] & string}`;
}[keyof RouterInputs];
export type Caller = ReturnType<typeof callerFor>;

/** The router's procedures as tRPC stores them (flat, dotted paths). */
export function routerProcedures(): Record<string, AnyProcedure> {
  return appRouter._def.procedures as unknown as Record<string, AnyProcedure>;
}

/** Calls `path` on a caller with an untyped input (tables of cases build inputs at run time). */
export function invoke(caller: Caller, path: ProcedurePath, input: unknown): Promise<unknown> {
  const [ns, name] = path.split(".") as [string, string];
  const fn = (caller as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>)[ns]?.[name];
  if (!fn) throw new Error(`no procedure ${path}`);
  return fn(input);
}

export interface WireError {
  code: TRPCError["code"];
  message: string;
  appCode: string | null;
  field: string | null;
  fieldErrors: Record<string, string[] | undefined> | null;
  data: Record<string, unknown>;
}

/**
 * Awaits a call that must fail with `code` and returns the error as a client
 * would receive it, i.e. passed through the app's errorFormatter.
 */
export async function rejectsWith(call: Promise<unknown>, code: TRPCError["code"]): Promise<WireError> {
  const error = await call.then(
    (value) => {
      throw new Error(`expected ${code}, but the call succeeded with ${JSON.stringify(value)?.slice(0, 200)}`);
    },
    (e: unknown) => e,
  );
  if (!(error instanceof TRPCError)) throw error;
  const shape = getErrorShape({
    config: appRouter._def._config,
    error,
    type: "unknown",
    path: undefined,
    input: undefined,
    ctx: undefined,
  });
  expect(shape.data.code, `${shape.data.code}: ${shape.message}`).toBe(code);
  return {
    code: shape.data.code,
    message: shape.message,
    appCode: shape.data.appCode,
    field: shape.data.field,
    fieldErrors: shape.data.fieldErrors as WireError["fieldErrors"],
    data: shape.data as unknown as Record<string, unknown>,
  };
}

type FindMany = { findMany(args: { where: { tenantId: string }; orderBy: Record<string, "asc"> }): Promise<unknown[]> };

/**
 * Everything a tenant-scoped mutation could touch, for "nothing changed" assertions:
 * the tenant's row and its rows in every tenant-owned table (tenant-tables.ts).
 */
export async function tenantState(tenantId: string): Promise<Record<string, unknown>> {
  const client = db() as unknown as Record<string, FindMany | undefined>;
  const tables = await Promise.all(
    tenantTables().map(async ({ model, delegate, idField }) => {
      const table = client[delegate];
      if (!table) throw new Error(`the database client has no ${delegate} for model ${model}`);
      return [model, await table.findMany({ where: { tenantId }, orderBy: { [idField]: "asc" } })] as const;
    }),
  );
  return { Tenant: await db().tenant.findUnique({ where: { id: tenantId } }), ...Object.fromEntries(tables) };
}

/** Audit rows written by a user. Fixtures act as the CLI (actorUserId null), so these are the user's own calls. */
export function auditBy(userId: string) {
  return db().auditLog.findMany({ where: { actorUserId: userId }, orderBy: { id: "asc" } });
}
