import { describe, expect, it, vi } from "vitest";
import {
  AppError,
  Conflict,
  Forbidden,
  HTTP_STATUS,
  Invalid,
  NotFound,
  RateLimited,
  Unauthorized,
  Unavailable,
  isAppError,
  isUniqueViolation,
} from "./errors";

describe("AppError family", () => {
  it("carries kind, code, field and status", () => {
    const e = Invalid("Name is required", "name");
    expect(e).toBeInstanceOf(AppError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ kind: "invalid", code: "invalid_request", param: "name", status: 400, message: "Name is required" });
    expect(NotFound("Tenant")).toMatchObject({ kind: "not_found", status: 404, message: "Tenant not found" });
    expect(Conflict("taken", "slug_taken", "slug")).toMatchObject({ status: 409, code: "slug_taken", param: "slug" });
    expect(RateLimited("slow down", 7)).toMatchObject({ status: 429, retryAfter: 7, code: "rate_limited" });
    expect(Unavailable("busy", "pool_full", 3)).toMatchObject({ status: 503, code: "pool_full", retryAfter: 3 });
    expect(Unauthorized()).toMatchObject({ status: 401, code: "unauthorized" });
    expect(Forbidden()).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("maps every kind to a 4xx/5xx status", () => {
    for (const [kind, status] of Object.entries(HTTP_STATUS)) {
      expect(status, kind).toBeGreaterThanOrEqual(400);
      expect(new AppError(kind as keyof typeof HTTP_STATUS, "x").status).toBe(status);
    }
  });

  it("isAppError tells app errors from others", () => {
    expect(isAppError(NotFound("x"))).toBe(true);
    expect(isAppError(new Error("x"))).toBe(false);
    expect(isAppError({ kind: "not_found" })).toBe(false);
  });

  it("isUniqueViolation recognises Prisma's P2002 only", () => {
    expect(isUniqueViolation(Object.assign(new Error("unique"), { code: "P2002" }))).toBe(true);
    expect(isUniqueViolation({ code: "P2025" })).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
    expect(isUniqueViolation("P2002")).toBe(false);
  });
});

describe("isAppError across module copies", () => {
  it("recognises an AppError made by another evaluation of this module (Next bundles)", async () => {
    vi.resetModules();
    const other = await import("./errors");
    const foreign = new other.AppError("rate_limited", "slow down", { code: "rate_limit_exceeded", retryAfter: 3 });
    expect(foreign instanceof AppError).toBe(false);
    expect(isAppError(foreign)).toBe(true);
    expect(isAppError(new Error("plain"))).toBe(false);
    expect(isAppError({ kind: "invalid" })).toBe(false);
  });
});
