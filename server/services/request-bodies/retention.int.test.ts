/**
 * The retention purge on the real database (run on SQLite and PostgreSQL): per-tenant
 * body and usage retention, the platform default, small batches, rollups untouched,
 * tenants isolated, and an audit row for what was deleted.
 */
import { describe, expect, it } from "vitest";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../audit/audit");
const { makeTenant, uniq } = await import("../../test/fixtures");
const { usageRow } = await import("../../test/usage");
const { DEFAULT_POLICY, updateLogPolicy } = await import("./request-bodies");
const { purgeRetention } = await import("./retention");

const DAY = 86_400_000;
// the real clock: a forced round sweeps every tenant, and other test files' fresh rows must stay
const NOW = Date.now();

async function rows(tenantId: string, ages: number[], withBodies: boolean) {
  const ids = ages.map(() => `req_${uniq()}${uniq()}`);
  await db().requestLog.createMany({ data: ids.map((id, i) => usageRow({ id, tenantId, createdAt: new Date(NOW - ages[i]! * DAY) })) });
  if (withBodies) {
    await db().requestBody.createMany({
      data: ids.map((id, i) => ({ id, tenantId, body: "{}", bytes: 2, createdAt: new Date(NOW - ages[i]! * DAY) })),
    });
  }
  return ids;
}

describe("retention purge", () => {
  it("deletes bodies and usage rows past the tenant's days, in batches, and audits it", async () => {
    const a = await makeTenant();
    const b = await makeTenant();
    await updateLogPolicy(db(), CLI_ACTOR, { ...DEFAULT_POLICY, tenantId: a.id, bodiesEnabled: true, bodyRetentionDays: 7, usageRetentionDays: 30 });
    // ages in days: 2 fresh, 3 past body retention, 5 past usage retention
    const ages = [1, 2, 8, 9, 20, 31, 32, 40, 50, 60];
    const ids = await rows(a.id, ages, true);
    const other = await rows(b.id, ages, true);
    await db().usageRollup.create({
      data: { id: `ur_${uniq()}`, tenantId: a.id, apiKeyId: "", model: "m", hour: new Date(NOW - 60 * DAY), requests: 10 },
    });

    // batches of 2: 8 bodies and 5 rows take several statements each
    const r = await purgeRetention(db(), { force: true, now: NOW, batchSize: 2 });
    expect(r).toMatchObject({ more: false });
    expect(r.requestLogs).toBeGreaterThanOrEqual(5);

    const logs = await db().requestLog.findMany({ where: { tenantId: a.id }, select: { id: true } });
    expect(logs.map((l) => l.id).sort()).toEqual(ids.slice(0, 5).sort());
    const bodies = await db().requestBody.findMany({ where: { tenantId: a.id }, select: { id: true } });
    expect(bodies.map((x) => x.id).sort()).toEqual(ids.slice(0, 2).sort());
    // the rollups keep the history
    expect(await db().usageRollup.count({ where: { tenantId: a.id } })).toBe(1);

    // tenant b has no settings: bodies after the default 30 days, usage rows kept (USAGE_RETENTION_DAYS=0)
    expect(await db().requestLog.count({ where: { tenantId: b.id } })).toBe(ages.length);
    const bBodies = await db().requestBody.findMany({ where: { tenantId: b.id }, select: { id: true } });
    expect(bBodies.map((x) => x.id).sort()).toEqual(other.slice(0, 5).sort());

    const audit = await db().auditLog.findMany({ where: { tenantId: a.id, action: "retention.purge" } });
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.data!)).toMatchObject({ requestLogs: 5, bodies: 8 });
    expect(audit[0]!.actorLabel).toBe("retention");

    // a second round has nothing left to do and writes no audit row
    await purgeRetention(db(), { force: true, now: NOW, batchSize: 2 });
    expect(await db().auditLog.count({ where: { tenantId: a.id, action: "retention.purge" } })).toBe(1);
    expect(await db().requestLog.count({ where: { tenantId: a.id } })).toBe(5);
  });

  it("waits between rounds unless forced", async () => {
    const t = await makeTenant();
    await updateLogPolicy(db(), CLI_ACTOR, { ...DEFAULT_POLICY, tenantId: t.id, usageRetentionDays: 1 });
    await purgeRetention(db(), { force: true, now: NOW });
    await rows(t.id, [5], false);
    const r = await purgeRetention(db(), { now: NOW + 60_000 });
    expect(r).toEqual({ requestLogs: 0, bodies: 0, tenants: 0, more: false });
    expect(await db().requestLog.count({ where: { tenantId: t.id } })).toBe(1);
    await purgeRetention(db(), { force: true, now: NOW });
    expect(await db().requestLog.count({ where: { tenantId: t.id } })).toBe(0);
  });
});
