/**
 * A usage record (what a /v1 request hands the usage log) for tests: an ok, non-streamed
 * chat completion of a fresh id; `overrides` set what the test is about. Pure, so unit
 * tests use it too; `usageRow` is the RequestLog row the writer would insert for it.
 */
import { newId } from "../lib/ids";
import { toRow } from "../services/usage/aggregate";
import type { UsageRecord } from "../services/usage/types";

export function usageRecord(overrides: Partial<UsageRecord> & Pick<UsageRecord, "tenantId">): UsageRecord {
  const id = overrides.id ?? newId("req");
  return {
    id,
    // the x-request-id, as the pipeline sets it for a caller that sent none
    requestId: id,
    apiKeyId: null,
    userId: null,
    endpoint: "chat.completions",
    modelRequested: "demo",
    modelUsed: "demo",
    backendId: null,
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    errorMessage: null,
    stream: false,
    promptTokens: 10,
    completionTokens: 5,
    ttftMs: null,
    latencyMs: 40,
    createdAt: new Date(),
    ...overrides,
  };
}

/** The RequestLog row of `usageRecord(overrides)`, for `db().requestLog.createMany`. */
export const usageRow = (overrides: Partial<UsageRecord> & Pick<UsageRecord, "tenantId">) => toRow(usageRecord(overrides));
