import { describe, expect, it } from "vitest";
import { INT4_MAX, type RequestLogRow, aggregateRollups, hourStart, toRow, truncate } from "./aggregate";
import { ERROR_MESSAGE_MAX, type UsageRecord } from "./types";
import { usageRecord } from "../../test/usage";

const T0 = new Date("2026-03-04T10:15:00.000Z");

const rec = (over: Partial<UsageRecord> = {}): UsageRecord =>
  // no requestId: toRow defaults it to the id
  usageRecord({ tenantId: "tnt_a", requestId: undefined, apiKeyId: "key_1", modelRequested: "alias", modelUsed: "model-x", stream: true, completionTokens: 20, ttftMs: 30, latencyMs: 100, createdAt: T0, ...over });

const rows = (...rs: UsageRecord[]): RequestLogRow[] => rs.map((r) => toRow(r));

describe("cost on rows and rollups", () => {
  it("keeps a cost exactly, 0 when nothing served, null (unpriced) when missing or not a safe integer", () => {
    expect(toRow(rec({ costNano: 123_456_789n, priceId: "prc_1" }))).toMatchObject({ costNano: 123_456_789, priceId: "prc_1" });
    expect(toRow(rec({ modelUsed: null })).costNano).toBe(0);
    expect(toRow(rec({ costNano: null })).costNano).toBeNull();
    expect(toRow(rec({ costNano: 2n ** 60n })).costNano).toBeNull();
    expect(toRow(rec({ costNano: -5 })).costNano).toBeNull();
  });

  it("sums priced rows' cost per bucket and counts the unpriced ones apart", () => {
    const groups = aggregateRollups(rows(rec({ costNano: 1_500n }), rec({ costNano: 2_250n }), rec({ costNano: null })));
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ requests: 3, costNano: 3_750, unpriced: 1 });
  });
});

describe("toRow", () => {
  it("copies every field, defaults requestId to id, the optional routing fields to null/false and tool counts to 0", () => {
    const r = rec({ errorCode: "x", errorMessage: "boom" });
    expect(toRow(r)).toEqual({
      ...r,
      requestId: r.id,
      policyId: null,
      routeReason: null,
      routeScore: null,
      attempts: null,
      cached: false,
      cachedTokens: 0,
      toolsOffered: 0,
      toolCalls: 0,
      // no cost given for a served request: unpriced, never a silent 0
      costNano: null,
      priceId: null,
    });
    expect(toRow({ ...r, requestId: "client-id", routeScore: 0.4321, attempts: [{ model: "a" }], cached: true, cachedTokens: 3, toolsOffered: 2, toolCalls: 1 })).toMatchObject({
      requestId: "client-id",
      routeScore: 0.4321,
      attempts: '[{"model":"a"}]',
      cached: true,
      cachedTokens: 3,
      toolsOffered: 2,
      toolCalls: 1,
    });
  });

  it("cuts errorMessage to 500 characters without splitting a surrogate pair", () => {
    expect(toRow(rec({ errorMessage: "e".repeat(2000) })).errorMessage).toHaveLength(ERROR_MESSAGE_MAX);
    const emoji = "a".repeat(ERROR_MESSAGE_MAX - 1) + "😀";
    expect(truncate(emoji, ERROR_MESSAGE_MAX)).toBe("a".repeat(ERROR_MESSAGE_MAX - 1));
  });

  it("turns values a database would refuse into ones it accepts, so one bad record can't block a batch", () => {
    const bad = toRow(
      rec({
        id: "",
        promptTokens: Number.NaN,
        completionTokens: -5,
        toolsOffered: Number.NaN,
        toolCalls: -1,
        latencyMs: 1e12,
        ttftMs: 12.6,
        httpStatus: 99999,
        status: "weird" as UsageRecord["status"],
        createdAt: new Date("nope"),
        attempts: [{ n: BigInt(1) }],
        modelUsed: "",
        routeScore: Number.POSITIVE_INFINITY,
      }),
      () => T0,
    );
    expect(bad.id).toMatch(/^req_/);
    expect(bad).toMatchObject({
      promptTokens: 0,
      completionTokens: 0,
      toolsOffered: 0,
      toolCalls: 0,
      latencyMs: INT4_MAX,
      ttftMs: 13,
      httpStatus: 999,
      status: "error",
      createdAt: T0,
      attempts: null,
      modelUsed: null,
      routeScore: null,
    });
  });

  it("snapshots the record, so later changes by the caller don't leak into the row", () => {
    const r = rec();
    const row = toRow(r);
    r.completionTokens = 999;
    expect(row.completionTokens).toBe(20);
  });
});

describe("hourStart", () => {
  it("is the start of the UTC hour", () => {
    expect(hourStart(new Date("2026-03-04T10:59:59.999Z")).toISOString()).toBe("2026-03-04T10:00:00.000Z");
    expect(hourStart(new Date("2026-03-04T11:00:00.000Z")).toISOString()).toBe("2026-03-04T11:00:00.000Z");
  });
});

describe("aggregateRollups", () => {
  it("groups by tenant × key × model × hour and sums counts, errors, cancellations, tokens, latency and TTFT", () => {
    const next = new Date("2026-03-04T11:01:00.000Z");
    const out = aggregateRollups(
      rows(
        rec({ promptTokens: 1, completionTokens: 2, latencyMs: 10, ttftMs: 5 }),
        rec({ status: "error", httpStatus: 500, promptTokens: 3, completionTokens: 0, latencyMs: 20, ttftMs: null }),
        rec({ status: "cancelled", httpStatus: 499, promptTokens: 4, completionTokens: 1, latencyMs: 30, ttftMs: 7 }),
        rec({ createdAt: next }), // next hour
        rec({ apiKeyId: null, userId: "usr_1" }), // console session: key ""
        rec({ modelUsed: null, modelRequested: "unknown-model", status: "error", ttftMs: null }), // falls back to the alias
        rec({ tenantId: "tnt_b" }),
      ),
    );
    const byKey = Object.fromEntries(out.map((g) => [`${g.tenantId}|${g.apiKeyId}|${g.model}|${g.hour.toISOString()}`, g]));
    expect(Object.keys(byKey).sort()).toEqual(
      [
        "tnt_a||model-x|2026-03-04T10:00:00.000Z",
        "tnt_a|key_1|model-x|2026-03-04T10:00:00.000Z",
        "tnt_a|key_1|model-x|2026-03-04T11:00:00.000Z",
        "tnt_a|key_1|unknown-model|2026-03-04T10:00:00.000Z",
        "tnt_b|key_1|model-x|2026-03-04T10:00:00.000Z",
      ].sort(),
    );
    expect(byKey["tnt_a|key_1|model-x|2026-03-04T10:00:00.000Z"]).toMatchObject({
      requests: 3,
      errors: 1,
      cancelled: 1,
      promptTokens: 8,
      completionTokens: 3,
      latencySumMs: 60,
      ttftSumMs: 12,
      ttftCount: 2,
    });
    expect(byKey["tnt_a|key_1|unknown-model|2026-03-04T10:00:00.000Z"]).toMatchObject({
      requests: 1,
      errors: 1,
      ttftCount: 0,
      ttftSumMs: 0,
    });
  });

  it("sums to the batch's totals and returns buckets in a stable order", () => {
    const batch = rows(
      ...Array.from({ length: 200 }, (_, i) =>
        rec({
          tenantId: `tnt_${i % 3}`,
          apiKeyId: i % 2 ? "key_1" : null,
          modelUsed: `m${i % 4}`,
          createdAt: new Date(T0.getTime() + (i % 5) * 3_600_000),
          promptTokens: i,
          ttftMs: i % 3 ? i : null,
        }),
      ),
    );
    const out = aggregateRollups(batch);
    const sum = (k: "requests" | "promptTokens" | "ttftCount") => out.reduce((s, g) => s + g[k], 0);
    expect(sum("requests")).toBe(200);
    expect(sum("promptTokens")).toBe(batch.reduce((s, r) => s + r.promptTokens, 0));
    expect(sum("ttftCount")).toBe(batch.filter((r) => r.ttftMs !== null).length);
    const again = aggregateRollups([...batch].reverse());
    expect(again.map((g) => [g.tenantId, g.apiKeyId, g.model, g.hour])).toEqual(
      out.map((g) => [g.tenantId, g.apiKeyId, g.model, g.hour]),
    );
  });
});
