/**
 * `tenant limits` and `key limits`: show a tenant's or a key's limits and this
 * month's usage, or change them (flags left out keep their value; "none" removes a
 * limit). Registered in commands.ts.
 */
import type { LimitSet } from "../auth/principal";
import { CLI_ACTOR } from "../services/audit/audit";
import { getLimits, setKeyLimits, setTenantLimits } from "../services/limits/limits";
import { type LimitsPatch, parseLimitFlag, parseMoneyFlag } from "../services/limits/schemas";
import { formatAmount } from "../lib/money";
import { findTenantBySlug } from "../services/tenants/tenants";
import type { FlagSpec, Flags } from "./args";
import type { Command } from "./commands";
import { CliError } from "./format";

const str = (flags: Flags, name: string) => (typeof flags[name] === "string" ? (flags[name] as string) : undefined);

const limitFlag = (description: string): FlagSpec => ({ type: "string", value: "N|none", description });
const limitFlags: Record<string, FlagSpec> = {
  rpm: limitFlag("Requests per minute"),
  tpm: limitFlag("Tokens per minute (prompt + completion)"),
  concurrent: limitFlag("Requests running at once"),
  budget: limitFlag("Monthly token budget (calendar month, UTC); requests stop with 429 budget_exceeded once used up"),
  "spend-monthly": { type: "string", value: "AMOUNT|none", description: "Monthly spend budget in SPEND_CURRENCY, e.g. 50 (calendar month, UTC)" },
  "spend-daily": { type: "string", value: "AMOUNT|none", description: "Daily spend budget in SPEND_CURRENCY (UTC day)" },
};
const MONEY_FIELD = { "spend-monthly": "monthlySpendBudget", "spend-daily": "dailySpendBudget" } as const;
const FLAG_FIELD = { rpm: "rpm", tpm: "tpm", concurrent: "maxConcurrent", budget: "monthlyTokenBudget" } as const;

function patchOf(flags: Flags): LimitsPatch {
  const patch: LimitsPatch = {};
  for (const [flag, field] of Object.entries(FLAG_FIELD)) {
    const raw = str(flags, flag);
    if (raw === undefined) continue;
    const v = parseLimitFlag(raw);
    if (v === undefined) throw new CliError(`--${flag}: expected a whole number or "none", got "${raw}"`);
    patch[field] = v;
  }
  for (const [flag, field] of Object.entries(MONEY_FIELD)) {
    const raw = str(flags, flag);
    if (raw === undefined) continue;
    const v = parseMoneyFlag(raw);
    if (v === undefined) throw new CliError(`--${flag}: expected an amount like 50 or 12.50, or "none", got "${raw}"`);
    patch[field] = v;
  }
  return patch;
}

const show = (n: number | null) => (n === null ? "none" : String(n));
const money = (n: number | null) => (n === null ? "none" : formatAmount(BigInt(n)));
const describe = (l: LimitSet, monthTokens: number, spend?: { month: bigint; day: bigint; currency: string }) =>
  [
    `  requests/min     ${show(l.rpm)}`,
    `  tokens/min       ${show(l.tpm)}`,
    `  concurrent       ${show(l.maxConcurrent)}`,
    `  monthly budget   ${show(l.monthlyTokenBudget)}${l.monthlyTokenBudget ? ` (${monthTokens} used this month, ${Math.floor((monthTokens * 100) / l.monthlyTokenBudget)}%)` : ` (${monthTokens} tokens used this month)`}`,
    ...(spend
      ? [
          `  monthly spend    ${money(l.monthlySpendBudgetNano)} (${formatAmount(spend.month)} ${spend.currency} spent this month)`,
          `  daily spend      ${money(l.dailySpendBudgetNano)} (${formatAmount(spend.day)} ${spend.currency} spent today)`,
        ]
      : []),
  ].join("\n");

export const limitCommands: Command[] = [
  {
    path: ["tenant", "limits"],
    summary: "Show or set a tenant's limits (RPM, TPM, concurrency, monthly token budget)",
    flags: {
      slug: { type: "string", value: "SLUG", required: true, description: "Tenant slug" },
      ...limitFlags,
      "warn-percent": { type: "string", value: "N|none", description: "Budget share (1-100) after which responses carry a warning (default 80)" },
    },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "slug")!);
      const patch: Parameters<typeof setTenantLimits>[3] = patchOf(flags);
      const warn = str(flags, "warn-percent");
      if (warn !== undefined) {
        const v = parseLimitFlag(warn);
        if (v === undefined) throw new CliError(`--warn-percent: expected a whole number or "none", got "${warn}"`);
        patch.budgetWarnPercent = v;
      }
      const changed = Object.keys(patch).length > 0;
      if (changed) await setTenantLimits(ctx.db(), CLI_ACTOR, tenant.id, patch);
      const view = await getLimits(ctx.db(), tenant.id);
      const text = [
        `${changed ? "updated limits of" : "limits of"} tenant ${tenant.slug}:`,
        describe(view.tenant.limits, view.tenant.monthTokens, { month: view.tenant.monthSpendNano, day: view.tenant.daySpendNano, currency: view.currency }),
        `  budget warning   at ${view.tenant.effectiveBudgetWarnPercent}%`,
      ].join("\n");
      return { text, json: { tenant: { id: tenant.id, slug: tenant.slug }, ...view.tenant } };
    },
  },
  {
    path: ["key", "limits"],
    summary: "Show or set an API key's limits (both the key's and its tenant's limits apply)",
    flags: {
      tenant: { type: "string", value: "SLUG", required: true, description: "Tenant slug" },
      id: { type: "string", value: "KEY_ID", required: true, description: "The key's id (key_…)" },
      ...limitFlags,
    },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "tenant")!);
      const keyId = str(flags, "id")!;
      const patch = patchOf(flags);
      const changed = Object.keys(patch).length > 0;
      if (changed) await setKeyLimits(ctx.db(), CLI_ACTOR, tenant.id, { keyId, ...patch });
      const view = await getLimits(ctx.db(), tenant.id);
      const key = view.keys.find((k) => k.id === keyId);
      if (!key) throw new CliError(`tenant ${tenant.slug} has no API key ${keyId}`);
      const text = [`${changed ? "updated limits of" : "limits of"} API key ${key.id} ("${key.name}"):`, describe(key.limits, key.monthTokens, { month: key.monthSpendNano, day: key.daySpendNano, currency: view.currency })].join("\n");
      return { text, json: { tenant: { id: tenant.id, slug: tenant.slug }, ...key } };
    },
  },
];
