import { describe, expect, it } from "vitest";
import type { GatewayError } from "../../../services/gateway/types";
import { anthropicDialect, anthropicErrorBody, anthropicStatus } from "./errors";

const ge = (kind: GatewayError["kind"], status: number, code: string): GatewayError => ({ kind, status, code, message: "m", param: null });

describe("Anthropic error shape", () => {
  it("maps each gateway error kind to Anthropic's type, keeping the status", () => {
    const cases: [GatewayError, string, number][] = [
      [ge("invalid", 400, "invalid_request"), "invalid_request_error", 400],
      [ge("unauthorized", 401, "invalid_api_key"), "authentication_error", 401],
      [ge("forbidden", 403, "insufficient_scope"), "permission_error", 403],
      [ge("not_found", 404, "model_not_found"), "not_found_error", 404],
      [ge("payload_too_large", 413, "request_too_large"), "request_too_large", 413],
      [ge("rate_limited", 429, "rate_limit_exceeded"), "rate_limit_error", 429],
      [ge("internal", 500, "internal_error"), "api_error", 500],
      [ge("unavailable", 503, "model_load_failed"), "api_error", 503],
      // load: 529 overloaded_error, which the SDKs retry and type as OverloadedError
      [ge("rate_limited", 429, "model_overloaded"), "overloaded_error", 529],
      [ge("unavailable", 503, "no_healthy_target"), "overloaded_error", 529],
    ];
    for (const [e, type, status] of cases) {
      expect([anthropicErrorBody(e, "req_1").error.type, anthropicStatus(e)]).toEqual([type, status]);
    }
  });

  it("has the request id beside the error, and streams errors as an `error` event with no end marker", () => {
    expect(anthropicErrorBody(ge("invalid", 400, "x"), "req_9")).toEqual({ type: "error", error: { type: "invalid_request_error", message: "m" }, request_id: "req_9" });
    expect(anthropicDialect.streamError(ge("internal", 500, "x"), "req_9")).toMatchObject({ event: "error", data: { type: "error", error: { type: "api_error" } } });
    expect(anthropicDialect.streamEnd).toBeUndefined();
  });
});
