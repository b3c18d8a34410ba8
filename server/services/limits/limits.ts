/**
 * Limits of a tenant and of its API keys: read them (with this month's token usage,
 * from the hourly rollups) and change them, each change audited. Enforcement lives
 * in server/ratelimit; it reads limits with the credential (a cache under a second),
 * so a change here applies to /api/v1 within a second on every replica.
 */
import { type LimitSet, limitColumns, limitSetOf } from "../../auth/principal";
import type { Db } from "../../db/client";
import { NotFound } from "../../errors";
import { env } from "../../env";
import { DEFAULT_BUDGET_WARN_PERCENT, dayStartUtc, monthStartUtc } from "../../ratelimit/limiter";
import { parseAmount } from "../../lib/money";
import { type Actor, recordAudit } from "../audit/audit";
import { apiKeyStatus } from "../api-keys/schemas";
import { type LimitsPatch, SetKeyLimitsInput, SetTenantLimitsInput } from "./schemas";

export interface LimitsView {
  tenant: {
    limits: LimitSet;
    /** null = DEFAULT_BUDGET_WARN_PERCENT */
    budgetWarnPercent: number | null;
    effectiveBudgetWarnPercent: number;
    /** tokens (prompt + completion) used this calendar month (UTC), from the rollups */
    monthTokens: number;
    /** spent this month and today (UTC), nano-units of SPEND_CURRENCY (priced requests) */
    monthSpendNano: bigint;
    daySpendNano: bigint;
  };
  keys: {
    id: string;
    name: string;
    prefix: string;
    status: "active" | "expired" | "revoked";
    limits: LimitSet;
    monthTokens: number;
    monthSpendNano: bigint;
    daySpendNano: bigint;
  }[];
  /** SPEND_CURRENCY */
  currency: string;
  /** start of the month monthTokens counts from */
  monthStart: Date;
}

function columnsOf(patch: LimitsPatch) {
  const data: Record<string, number | bigint | null> = {};
  if (patch.rpm !== undefined) data.rpmLimit = patch.rpm;
  if (patch.tpm !== undefined) data.tpmLimit = patch.tpm;
  if (patch.maxConcurrent !== undefined) data.maxConcurrent = patch.maxConcurrent;
  if (patch.monthlyTokenBudget !== undefined) {
    data.monthlyTokenBudget = patch.monthlyTokenBudget === null ? null : BigInt(patch.monthlyTokenBudget);
  }
  // money: decimal strings in SPEND_CURRENCY (validated by the schema), stored as nano-units
  if (patch.monthlySpendBudget !== undefined) {
    data.monthlySpendBudgetNano = patch.monthlySpendBudget === null ? null : parseAmount(patch.monthlySpendBudget);
  }
  if (patch.dailySpendBudget !== undefined) {
    data.dailySpendBudgetNano = patch.dailySpendBudget === null ? null : parseAmount(patch.dailySpendBudget);
  }
  return data;
}

/** The tenant's limits, every key's, and this month's usage of each. */
export async function getLimits(db: Db, tenantId: string, now: number = Date.now()): Promise<LimitsView> {
  const monthStart = monthStartUtc(now);
  const dayStart = dayStartUtc(now);
  const [tenant, keys, usage, today] = await Promise.all([
    db.tenant.findUnique({ where: { id: tenantId }, select: { ...limitColumns, budgetWarnPercent: true } }),
    db.apiKey.findMany({
      where: { tenantId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      select: { id: true, name: true, prefix: true, expiresAt: true, revokedAt: true, ...limitColumns },
    }),
    db.usageRollup.groupBy({
      by: ["apiKeyId"],
      where: { tenantId, hour: { gte: monthStart } },
      _sum: { promptTokens: true, completionTokens: true, costNano: true },
    }),
    db.usageRollup.groupBy({
      by: ["apiKeyId"],
      where: { tenantId, hour: { gte: dayStart } },
      _sum: { costNano: true },
    }),
  ]);
  if (!tenant) throw NotFound("Tenant");
  const byKey = new Map(usage.map((u) => [u.apiKeyId, Number(u._sum.promptTokens ?? 0) + Number(u._sum.completionTokens ?? 0)]));
  const all = [...byKey.values()].reduce((a, b) => a + b, 0);
  const spendByKey = new Map(usage.map((u) => [u.apiKeyId, BigInt(u._sum.costNano ?? 0)]));
  const daySpendByKey = new Map(today.map((u) => [u.apiKeyId, BigInt(u._sum.costNano ?? 0)]));
  const sum = (m: Map<string, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);
  return {
    tenant: {
      limits: limitSetOf(tenant),
      budgetWarnPercent: tenant.budgetWarnPercent,
      effectiveBudgetWarnPercent: tenant.budgetWarnPercent ?? DEFAULT_BUDGET_WARN_PERCENT,
      monthTokens: all,
      monthSpendNano: sum(spendByKey),
      daySpendNano: sum(daySpendByKey),
    },
    keys: keys.map((k) => ({
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      status: apiKeyStatus(k, now),
      limits: limitSetOf(k),
      monthTokens: byKey.get(k.id) ?? 0,
      monthSpendNano: spendByKey.get(k.id) ?? 0n,
      daySpendNano: daySpendByKey.get(k.id) ?? 0n,
    })),
    monthStart,
    currency: env().SPEND_CURRENCY,
  };
}

/** Changes a tenant's limits (fields left out keep their value; null removes a limit). */
export async function setTenantLimits(db: Db, actor: Actor, tenantId: string, raw: SetTenantLimitsInput) {
  const input = SetTenantLimitsInput.parse(raw);
  const data: Record<string, number | bigint | null> = columnsOf(input);
  if (input.budgetWarnPercent !== undefined) data.budgetWarnPercent = input.budgetWarnPercent;
  return db.$transaction(async (tx) => {
    // the write comes first (see createApiKey in services/api-keys); it matches nothing for an unknown tenant
    // (an empty patch is a read: Prisma's updateMany with no data reports 0 rows)
    const count = Object.keys(data).length
      ? (await tx.tenant.updateMany({ where: { id: tenantId }, data })).count
      : await tx.tenant.count({ where: { id: tenantId } });
    if (count === 0) throw NotFound("Tenant");
    const row = await tx.tenant.findUnique({ where: { id: tenantId }, select: { ...limitColumns, budgetWarnPercent: true } });
    const limits = limitSetOf(row!);
    await recordAudit(tx, actor, {
      tenantId,
      action: "tenant.limits_update",
      targetType: "tenant",
      targetId: tenantId,
      data: { changed: input, now: { ...limits, budgetWarnPercent: row!.budgetWarnPercent } },
    });
    return { limits, budgetWarnPercent: row!.budgetWarnPercent };
  });
}

/** Changes one API key's limits; another tenant's key is NOT_FOUND. Both the key's and the tenant's limits apply. */
export async function setKeyLimits(db: Db, actor: Actor, tenantId: string, raw: SetKeyLimitsInput) {
  const { keyId, ...patch } = SetKeyLimitsInput.parse(raw);
  return db.$transaction(async (tx) => {
    const data = columnsOf(patch);
    const count = Object.keys(data).length
      ? (await tx.apiKey.updateMany({ where: { id: keyId, tenantId }, data })).count
      : await tx.apiKey.count({ where: { id: keyId, tenantId } });
    if (count === 0) throw NotFound("API key");
    const row = await tx.apiKey.findFirst({ where: { id: keyId, tenantId }, select: { id: true, name: true, prefix: true, ...limitColumns } });
    const limits = limitSetOf(row!);
    await recordAudit(tx, actor, {
      tenantId,
      action: "api_key.limits_update",
      targetType: "api_key",
      targetId: keyId,
      data: { name: row!.name, prefix: row!.prefix, changed: patch, now: limits },
    });
    return { id: row!.id, name: row!.name, prefix: row!.prefix, limits };
  });
}
