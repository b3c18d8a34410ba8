import { describe, expect, it } from "vitest";
import { Prisma } from "../../db/generated/sqlite/browser";
import { usageRow } from "../../test/usage";
import { LOG_COLUMNS, ROLLUP_COLUMNS, insertLogsStatement, upsertRollupsStatement } from "./sql";

describe("usage SQL", () => {
  // the statements name their columns by hand; a column added to the schema must be added here too
  it("writes every RequestLog and UsageRollup column of the Prisma schema", () => {
    expect([...LOG_COLUMNS].sort()).toEqual(Object.values(Prisma.RequestLogScalarFieldEnum).sort());
    expect([...ROLLUP_COLUMNS].sort()).toEqual(Object.values(Prisma.UsageRollupScalarFieldEnum).sort());
  });

  const row = usageRow({
    id: "req_1",
    tenantId: "tnt_1",
    userId: "usr_1",
    endpoint: "embeddings",
    modelRequested: "e",
    modelUsed: "e",
    promptTokens: 3,
    completionTokens: 0,
    latencyMs: 9,
    createdAt: new Date("2026-01-05T10:01:02.003Z"),
  });

  it("stores dates the way each Prisma adapter does (SQLite: ISO text with +00:00)", () => {
    const [sqliteSql, sqliteJson] = insertLogsStatement("sqlite", [row]);
    expect(sqliteSql).toContain("json_each(?)");
    const [values] = JSON.parse(sqliteJson) as unknown[][];
    expect(values![LOG_COLUMNS.indexOf("createdAt")]).toBe("2026-01-05T10:01:02.003+00:00");
    expect(values![LOG_COLUMNS.indexOf("stream")]).toBe(false);

    const [pgSql, pgJson] = insertLogsStatement("postgresql", [row]);
    expect(pgSql).toContain("jsonb_populate_recordset(NULL::\"RequestLog\", $1::jsonb)");
    expect((JSON.parse(pgJson) as Record<string, unknown>[])[0]).toMatchObject({ id: "req_1", createdAt: "2026-01-05T10:01:02.003Z" });
  });

  it("adds rollup counts to an existing bucket instead of replacing them", () => {
    for (const provider of ["sqlite", "postgresql"] as const) {
      const [sql] = upsertRollupsStatement(provider, [], new Date());
      expect(sql).toMatch(/ON CONFLICT \("tenantId", "apiKeyId", "model", "hour"\) DO UPDATE SET "requests" = "UsageRollup"\."requests" \+ excluded\."requests"/i);
    }
  });
});
