/**
 * `prices …`, money budgets on `tenant limits` / `key limits`, and `spend`, as people
 * run them (a real tsx subprocess against the run's database).
 */
import { describe, expect, it } from "vitest";
import { db } from "../db/client";
import { createApiKey } from "../services/api-keys/api-keys";
import { CLI_ACTOR } from "../services/audit/audit";
import { runCli } from "../test/cli";
import { makeTenant, uniq } from "../test/fixtures";

const cli = runCli;

describe("cli: prices and money budgets", () => {
  it("prices set adds versions (history kept), list shows the one in force, bad amounts are one error line", async () => {
    const model = `cli-priced-${uniq()}`;
    const set = await cli(["prices", "set", "--model", model, "--input", "0.15", "--cached", "0.075", "--output", "0.60", "--from", "2026-01-01T00:00:00Z", "--json"]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ model, input: "0.15", cachedInput: "0.075", output: "0.60", source: "cli", currency: "USD" });
    const again = await cli(["prices", "set", "--model", model, "--input", "0.20", "--output", "0.80"]);
    expect(again.code, again.stderr).toBe(0);
    const list = await cli(["prices", "list", "--json"]);
    const current = (JSON.parse(list.stdout) as { current: { model: string; input: string }[] }).current.filter((p) => p.model === model);
    expect(current).toEqual([expect.objectContaining({ input: "0.20" })]);
    const history = await cli(["prices", "history", "--model", model]);
    expect(history.stdout).toMatch(/0\.20[\s\S]*0\.15/);
    const rows = await db().price.findMany({ where: { model } });
    expect(rows.map((r) => r.inputNanoPerM).sort()).toEqual([150_000_000n, 200_000_000n]);

    const bad = await cli(["prices", "set", "--model", model, "--input", "1,5", "--output", "1"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^error: .*input price/i);
    const eur = await cli(["prices", "set", "--model", model, "--input", "1", "--output", "1", "--currency", "EUR"]);
    expect(eur.code).not.toBe(0);
    expect(eur.stderr).toMatch(/SPEND_CURRENCY/);
  });

  it("prices seed imports the shipped list once", async () => {
    const first = await cli(["prices", "seed", "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const second = await cli(["prices", "seed", "--json"]);
    expect(JSON.parse(second.stdout)).toMatchObject({ added: [] });
    expect(await db().price.count({ where: { model: "gpt-4o-mini", backendId: "", source: "seed" } })).toBeGreaterThanOrEqual(1);
  });

  it("tenant limits and key limits take money budgets, show spend, and 'none' removes them", async () => {
    const tenant = await makeTenant();
    const { apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
    const t = await cli(["tenant", "limits", "--slug", tenant.slug, "--spend-monthly", "50", "--spend-daily", "2.5"]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/monthly spend\s+50\.00 \(0\.00 USD spent this month\)/);
    expect(t.stdout).toMatch(/daily spend\s+2\.50/);
    expect(await db().tenant.findUniqueOrThrow({ where: { id: tenant.id } })).toMatchObject({ monthlySpendBudgetNano: 50_000_000_000n, dailySpendBudgetNano: 2_500_000_000n });
    const k = await cli(["key", "limits", "--tenant", tenant.slug, "--id", apiKey.id, "--spend-monthly", "10", "--json"]);
    expect(k.code, k.stderr).toBe(0);
    expect(JSON.parse(k.stdout)).toMatchObject({ limits: { monthlySpendBudgetNano: 10_000_000_000 } });
    const off = await cli(["tenant", "limits", "--slug", tenant.slug, "--spend-daily", "none"]);
    expect(off.code, off.stderr).toBe(0);
    expect((await db().tenant.findUniqueOrThrow({ where: { id: tenant.id } })).dailySpendBudgetNano).toBeNull();
    const bad = await cli(["tenant", "limits", "--slug", tenant.slug, "--spend-monthly", "$5"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error: --spend-monthly/);
    const spend = await cli(["spend", "--range", "24h"]);
    expect(spend.code, spend.stderr).toBe(0);
    expect(spend.stdout).toMatch(/^spend /);
  });
});
