/**
 * tRPC initialisation: context, the error mapping and the procedure ladder.
 *
 *   publicProcedure → authedProcedure → platformAdminProcedure
 *                                     → tenantProcedure(minRole)   (input has tenantId, or slug)
 *
 * Authorization happens here, in the procedures — never only in the UI or the proxy.
 * `tenantProcedure` reads the caller's membership from the database and puts
 * `ctx.tenant = { id, role }`; resolvers pass ctx.tenant.id (never a raw input id)
 * to services. AppErrors from services become tRPC errors in one place: mapErrors.
 * Edit this file when adding a new rung to the ladder, not for a new router.
 */
import "server-only";
import { TRPCError, initTRPC } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import { type SessionInfo, resolveSessionUser } from "../auth/session-user";
import { type Db, type Role, db as getDb } from "../db/client";
import { type AppErrorKind, isAppError } from "../errors";
import type { Actor } from "../services/audit/audit";
import { hasRole } from "../auth/roles";
import { z } from "zod";
import { logger } from "../log/logger";

export type { SessionInfo };

export interface Context {
  db: Db;
  session: SessionInfo | null;
  ip: string | null;
}

export function createContext(opts: { session: SessionInfo | null; ip?: string | null; db?: Db }): Context {
  return { db: opts.db ?? getDb(), session: opts.session, ip: opts.ip ?? null };
}

const TRPC_CODE: Record<AppErrorKind, TRPCError["code"]> = {
  invalid: "BAD_REQUEST",
  unauthorized: "UNAUTHORIZED",
  forbidden: "FORBIDDEN",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  payload_too_large: "PAYLOAD_TOO_LARGE",
  rate_limited: "TOO_MANY_REQUESTS",
  unavailable: "SERVICE_UNAVAILABLE",
};

function describeZodError(e: ZodError): string {
  return e.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

/** Messages per field, keyed by the dotted path (`filter.status`), so nested form fields get theirs too. */
function fieldErrorsOf(e: ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of e.issues) {
    if (!i.path.length) continue;
    (out[i.path.join(".")] ??= []).push(i.message);
  }
  return out;
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const zod = cause instanceof ZodError ? cause : null;
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    if (internal) logger("trpc").error({ err: cause ?? error }, "internal error");
    return {
      ...shape,
      message: internal ? "Something went wrong on our side. Try again." : zod ? describeZodError(zod) : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        appCode: isAppError(cause) ? cause.code : null,
        field: isAppError(cause) ? (cause.param ?? null) : null,
        fieldErrors: zod ? fieldErrorsOf(zod) : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** The one place AppErrors (and zod errors thrown by services) become tRPC errors. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (isAppError(cause)) {
      throw new TRPCError({ code: TRPC_CODE[cause.kind], message: cause.message, cause });
    }
    if (cause instanceof ZodError && result.error.code === "INTERNAL_SERVER_ERROR") {
      throw new TRPCError({ code: "BAD_REQUEST", message: describeZodError(cause), cause });
    }
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue" });
  const user = await resolveSessionUser(ctx.db, ctx.session);
  if (!user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Your session has ended. Sign in again." });
  const actor: Actor = { userId: user.id, label: user.email, isPlatformAdmin: user.isPlatformAdmin, ip: ctx.ip };
  return next({ ctx: { user, actor } });
});

export const platformAdminProcedure = authedProcedure.use(async ({ ctx, next }) => {
  if (!ctx.user.isPlatformAdmin) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Only platform admins can do this" });
  }
  return next();
});

export const TenantScopedInput = z.object({ tenantId: z.string().min(1, "tenantId is required") });
export const TenantBySlugInput = z.object({ slug: z.string().min(1) });

/**
 * A procedure scoped to one tenant, named by `tenantId` in the input (or, with
 * `by: "slug"`, by `slug`: a URL's, matched trimmed and case-insensitively). A user who
 * is not a member gets NOT_FOUND (tenants they can't see don't exist for them); a member
 * below `minRole` gets FORBIDDEN. Platform admins act as owners of every tenant.
 */
type TenantCheckCtx = { db: Db; user: { id: string; isPlatformAdmin: boolean } };

async function tenantFor(ctx: TenantCheckCtx, minRole: Role, where: { id: string } | { slug: string }, missing: string) {
  const tenant = await ctx.db.tenant.findUnique({
    where,
    select: {
      id: true,
      slug: true,
      status: true,
      memberships: { where: { userId: ctx.user.id }, select: { role: true } },
    },
  });
  const memberRole = tenant?.memberships[0]?.role ?? null;
  const role: Role | null = ctx.user.isPlatformAdmin ? "owner" : memberRole;
  if (!tenant || !role) throw new TRPCError({ code: "NOT_FOUND", message: missing });
  if (!hasRole(role, minRole)) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: `This needs the ${minRole} role or higher in this tenant (you are ${role})`,
    });
  }
  return { id: tenant.id, slug: tenant.slug, status: tenant.status, role };
}

const tenantById = (minRole: Role) =>
  authedProcedure.input(TenantScopedInput).use(async ({ ctx, input, next }) =>
    next({ ctx: { tenant: await tenantFor(ctx, minRole, { id: input.tenantId }, "Tenant not found") } }),
  );

const tenantBySlug = (minRole: Role) =>
  authedProcedure.input(TenantBySlugInput).use(async ({ ctx, input, next }) =>
    next({ ctx: { tenant: await tenantFor(ctx, minRole, { slug: input.slug.trim().toLowerCase() }, `Tenant "${input.slug}" not found`) } }),
  );

export function tenantProcedure(minRole: Role): ReturnType<typeof tenantById>;
export function tenantProcedure(minRole: Role, opts: { by: "slug" }): ReturnType<typeof tenantBySlug>;
export function tenantProcedure(minRole: Role, opts: { by?: "slug" } = {}) {
  return opts.by === "slug" ? tenantBySlug(minRole) : tenantById(minRole);
}
