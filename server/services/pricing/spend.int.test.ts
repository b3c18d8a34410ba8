/**
 * Spend through /api/v1 over real HTTP, a real database, real llama.cpp (the tiny
 * scripted model) and a fake OpenAI-compatible upstream on loopback (the world's
 * edge): the cost on each usage row — local and remote, cached input tokens, a
 * cancelled stream, across a price change — the rollups, unpriced requests shown as
 * such (rows, overview, CSV, metric), and money budgets with the in-process limiter.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { writeTinyModel } from "../../../scripts/tiny-gguf/make-tiny-model";
import { db } from "../../db/client";
import { localPool } from "../../inference/engine";
import { metrics } from "../../metrics/metrics";
import { clearApiKeyCache } from "../../auth/verify-api-key";
import { createApiKey } from "../api-keys/api-keys";
import { CLI_ACTOR } from "../audit/audit";
import { createBackend } from "../backends/backends";
import { setKeyLimits, setTenantLimits } from "../limits/limits";
import { addModel } from "../models/models";
import { createPolicy } from "../routing/routing";
import { platformSpend, tenantOverview, usageCsv } from "../usage/dashboard";
import { usageWriter } from "../usage/usage-writer";
import { type FakeUpstream, startFakeUpstream } from "../../test/fake-upstream";
import { makeTenant, uniq } from "../../test/fixtures";
import { startV1Server } from "../../test/v1-server";
import { costNano, parseAmount } from "../../lib/money";
import { priceHistory, setPrice } from "./prices";

let server: { url: string; close: () => Promise<void> };
let up: FakeUpstream;
const LOCAL = `tiny-spend-${uniq()}`;
const UP_MODEL = `up-spend-${uniq()}`;
const UNPRICED = `up-unpriced-${uniq()}`;
let backendId: string;

beforeAll(async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "switchyard-spend-")), "tiny.gguf");
  writeTinyModel(file);
  await addModel(db(), CLI_ACTOR, { name: LOCAL, source: file, kind: "chat", contextSize: 4096, parallel: 2, threads: 1 });
  up = await startFakeUpstream({ models: [UP_MODEL, UNPRICED] });
  const b = await createBackend(db(), CLI_ACTOR, { name: `b-spend-${uniq()}`, baseUrl: up.url, discover: false, models: [UP_MODEL, UNPRICED], public: true });
  backendId = b.id;
  server = await startV1Server();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await up?.close();
  await localPool().close();
});

async function tenantKey() {
  const tenant = await makeTenant();
  const { key, apiKey } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: `k-${uniq()}` });
  const alias = async (model: string) =>
    (await createPolicy(db(), CLI_ACTOR, tenant.id, { alias: `a-${uniq()}`, strategy: "single", targets: [{ type: "backend", backendId, model }] as never })).alias;
  return { tenantId: tenant.id, key, keyId: apiKey.id, alias };
}

const post = (key: string, p: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${server.url}/api/v1/${p}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });

const chat = (key: string, model: string, extra: Record<string, unknown> = {}) =>
  post(key, "chat/completions", { model, messages: [{ role: "user", content: "Hi" }], max_tokens: 16, ...extra });

async function row(tenantId: string, requestId: string) {
  return vi.waitFor(
    async () => {
      await usageWriter().flush();
      const r = await db().requestLog.findFirst({ where: { tenantId, requestId } });
      if (!r) throw new Error("no usage row yet");
      return r;
    },
    { timeout: 20_000, interval: 50 },
  );
}

const amounts = (input: string, output: string, cached: string | null = null, perRequest = "0") => ({
  inputNanoPerM: parseAmount(input)!,
  cachedInputNanoPerM: cached === null ? null : parseAmount(cached)!,
  outputNanoPerM: parseAmount(output)!,
  requestNano: parseAmount(perRequest)!,
});

/** Usage chunks with cached input tokens, the way OpenAI reports them. */
function cachedReply(prompt: number, cached: number, completion: number) {
  return {
    kind: "chunks" as const,
    chunks: [
      { choices: [{ index: 0, delta: { role: "assistant", content: "Hello" }, finish_reason: null }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } } },
    ],
  };
}

describe("cost on every usage row", () => {
  it("a local model without a price costs the local default (0), not 'unpriced'; with a price, exactly its cost", async () => {
    const t = await tenantKey();
    const free = await chat(t.key, LOCAL);
    expect(free.status).toBe(200);
    const r0 = await row(t.tenantId, free.headers.get("x-request-id")!);
    expect(r0).toMatchObject({ costNano: 0n, priceId: null });

    const price = await setPrice(db(), CLI_ACTOR, { model: LOCAL, input: "0.50", output: "1.50", perRequest: "0.001" });
    const res = await chat(t.key, LOCAL);
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const r = await row(t.tenantId, res.headers.get("x-request-id")!);
    const expected = costNano(amounts("0.50", "1.50", null, "0.001"), {
      promptTokens: body.usage.prompt_tokens,
      cachedTokens: 0,
      completionTokens: body.usage.completion_tokens,
      charged: true,
    });
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(r).toMatchObject({ costNano: expected, priceId: price.id, promptTokens: body.usage.prompt_tokens });
    // the rollups add the rows' exact costs
    const rollup = await db().usageRollup.aggregate({ where: { tenantId: t.tenantId }, _sum: { costNano: true, unpriced: true } });
    expect(rollup._sum).toEqual({ costNano: expected, unpriced: 0 });
  });

  it("a remote row: the backend's own price wins over the model-wide one, and cached input tokens cost the cached price", async () => {
    const t = await tenantKey();
    const alias = await t.alias(UP_MODEL);
    await setPrice(db(), CLI_ACTOR, { model: UP_MODEL, input: "9", output: "9" });
    const own = await setPrice(db(), CLI_ACTOR, { model: UP_MODEL, backendId, input: "2.50", cachedInput: "1.25", output: "10" });
    up.behave(cachedReply(1000, 600, 200));
    const res = await chat(t.key, alias);
    expect(res.status).toBe(200);
    const r = await row(t.tenantId, res.headers.get("x-request-id")!);
    // 400 × 2.50 + 600 × 1.25 + 200 × 10 per million = 0.00375
    expect(r).toMatchObject({ promptTokens: 1000, completionTokens: 200, costNano: 3_750_000n, priceId: own.id });
    up.behave({ kind: "reply" });
  });

  it("a cancelled stream is billed for what streamed, not for max_tokens", async () => {
    const t = await tenantKey();
    if ((await priceHistory(db(), { model: LOCAL })).length === 0) await setPrice(db(), CLI_ACTOR, { model: LOCAL, input: "1", output: "2" });
    const abort = new AbortController();
    const stream = await post(t.key, "completions", { model: LOCAL, prompt: "Once upon a time", max_tokens: 3000, stream: true }, abort.signal);
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    abort.abort();
    const r = await row(t.tenantId, stream.headers.get("x-request-id")!);
    expect(r.status).toBe("cancelled");
    expect(r.completionTokens).toBeGreaterThan(0);
    expect(r.completionTokens).toBeLessThan(3000);
    const inForce = (await priceHistory(db(), { model: LOCAL })).find((p) => p.effectiveFrom <= r.createdAt);
    const price = { ...inForce!, ...amounts(inForce!.input, inForce!.output, inForce!.cachedInput, inForce!.perRequest) };
    expect(r.costNano).toBe(costNano(price, { promptTokens: r.promptTokens, cachedTokens: 0, completionTokens: r.completionTokens, charged: true }));
    expect(r.priceId).toBe(inForce!.id);
  });

  it("a price change applies from its effective date and never rewrites rows already costed", async () => {
    const t = await tenantKey();
    const model = `up-change-${uniq()}`;
    const b = await createBackend(db(), CLI_ACTOR, { name: `b-change-${uniq()}`, baseUrl: up.url, discover: false, models: [model], public: true });
    const alias = (await createPolicy(db(), CLI_ACTOR, t.tenantId, { alias: `a-${uniq()}`, strategy: "single", targets: [{ type: "backend", backendId: b.id, model }] as never })).alias;
    const v1 = await setPrice(db(), CLI_ACTOR, { model, input: "1", output: "1", effectiveFrom: new Date(Date.now() - 60_000) });
    // the fake answers 7 prompt + 4 completion tokens: 11 tokens
    const first = await chat(t.key, alias);
    const r1 = await row(t.tenantId, first.headers.get("x-request-id")!);
    expect(r1).toMatchObject({ costNano: 11_000n, priceId: v1.id });

    const v2 = await setPrice(db(), CLI_ACTOR, { model, input: "3", output: "5" });
    // a version scheduled ahead does not apply yet
    await setPrice(db(), CLI_ACTOR, { model, input: "100", output: "100", effectiveFrom: new Date(Date.now() + 3_600_000) });
    const second = await chat(t.key, alias);
    const r2 = await row(t.tenantId, second.headers.get("x-request-id")!);
    expect(r2).toMatchObject({ costNano: 7n * 3_000n + 4n * 5_000n, priceId: v2.id });
    // history: the first row kept its cost; the price list keeps every version
    expect((await db().requestLog.findUniqueOrThrow({ where: { id: r1.id } })).costNano).toBe(11_000n);
    expect((await priceHistory(db(), { model })).map((p) => p.input)).toEqual(["100.00", "3.00", "1.00"]);
    // and a version dated before the latest is refused rather than slipped into the past
    await expect(setPrice(db(), CLI_ACTOR, { model, input: "2", output: "2", effectiveFrom: new Date(Date.now() - 30_000) })).rejects.toMatchObject({
      code: "price_not_after_latest",
    });
  });
});

describe("unpriced models are visible", () => {
  it("a remote model without a price: null cost on the row, counted as unpriced in the rollup, overview, CSV and metric", async () => {
    const t = await tenantKey();
    const alias = await t.alias(UNPRICED);
    const label = (await db().backend.findUniqueOrThrow({ where: { id: backendId } })).name + "/" + UNPRICED;
    const metricBefore = (await metrics().unpriced.get()).values.find((v) => v.labels.model === label)?.value ?? 0;
    const res = await chat(t.key, alias);
    expect(res.status).toBe(200);
    const r = await row(t.tenantId, res.headers.get("x-request-id")!);
    expect(r).toMatchObject({ costNano: null, priceId: null, modelUsed: label });
    expect((await metrics().unpriced.get()).values.find((v) => v.labels.model === label)?.value).toBe(metricBefore + 1);

    const overview = await tenantOverview(db(), t.tenantId, "24h");
    expect(overview.totals).toMatchObject({ requests: 1, unpriced: 1, costNano: 0n });
    expect(overview.spendByModel).toEqual([expect.objectContaining({ model: label, unpriced: 1, costNano: 0n })]);

    let csv = "";
    for await (const chunk of usageCsv(db(), t.tenantId, {})) csv += chunk;
    const [header, line] = csv.trim().split("\n");
    const cols = header!.split(",");
    expect(cols).toContain("cost");
    expect(line!.split(",")[cols.indexOf("cost")]).toBe("unpriced");
  });

  it("CSV has every priced row's exact cost and the currency; platform spend sums tenants", async () => {
    const t = await tenantKey();
    const alias = await t.alias(UP_MODEL);
    up.behave({ kind: "reply" });
    for (let i = 0; i < 2; i++) expect((await chat(t.key, alias)).status).toBe(200);
    await usageWriter().flush();
    let csv = "";
    for await (const chunk of usageCsv(db(), t.tenantId, {})) csv += chunk;
    const [header, ...lines] = csv.trim().split("\n");
    const cols = header!.split(",");
    const rows = await db().requestLog.findMany({ where: { tenantId: t.tenantId } });
    expect(lines).toHaveLength(2);
    // the backend's own price of UP_MODEL from the test above: 7 × 2.50 + 4 × 10 per million
    for (const l of lines) {
      const cells = l.split(",");
      expect(cells[cols.indexOf("cost")]).toBe("0.0000575");
      expect(cells[cols.indexOf("currency")]).toBe("USD");
    }
    expect(rows.every((r) => r.costNano === 57_500n)).toBe(true);
    const platform = await platformSpend(db(), "24h");
    expect(platform.tenants.find((x) => x.tenantId === t.tenantId)).toMatchObject({ requests: 2, costNano: 115_000n, unpriced: 0 });
  });
});

describe("money budgets (in-process limiter)", () => {
  it("a tenant's monthly spend budget admits until it is spent, then 429 budget_exceeded; headers say what is left", async () => {
    const t = await tenantKey();
    const model = `up-budget-${uniq()}`;
    const b = await createBackend(db(), CLI_ACTOR, { name: `b-budget-${uniq()}`, baseUrl: up.url, discover: false, models: [model], public: true });
    const alias = (await createPolicy(db(), CLI_ACTOR, t.tenantId, { alias: `a-${uniq()}`, strategy: "single", targets: [{ type: "backend", backendId: b.id, model }] as never })).alias;
    // 11 tokens a call at 1,000 per million tokens: 0.011 a call; a budget of 0.05 lasts 5 calls
    await setPrice(db(), CLI_ACTOR, { model, backendId: b.id, input: "1000", output: "1000" });
    await setTenantLimits(db(), CLI_ACTOR, t.tenantId, { monthlySpendBudget: "0.05", budgetWarnPercent: 50 });
    clearApiKeyCache();
    up.behave({ kind: "reply" });
    const statuses: number[] = [];
    let lastOk: Response | null = null;
    let refused: Response | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await chat(t.key, alias);
      statuses.push(res.status);
      if (res.status === 200) lastOk = res;
      else refused ??= res;
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(lastOk!.headers.get("x-switchyard-budget-limit-spend")).toBe("0.05");
    expect(lastOk!.headers.get("x-switchyard-budget-currency")).toBe("USD");
    expect(lastOk!.headers.get("x-switchyard-budget-warning")).toMatch(/spent 0\.044 of its 0\.05 USD monthly budget/);
    const err = (await chat(t.key, alias).then((r) => r.json())) as { error: { code: string; message: string } };
    expect(err.error.code).toBe("budget_exceeded");
    expect(err.error.message).toMatch(/monthly spend budget of this tenant is used up \(0\.055 of 0\.05 USD\)/);
    // the rows hold exactly what was spent
    await usageWriter().flush();
    const spent = await db().requestLog.aggregate({ where: { tenantId: t.tenantId, status: "ok" }, _sum: { costNano: true } });
    expect(spent._sum.costNano).toBe(55_000_000n);
  });

  it("a key's daily budget applies beside the tenant's, and an unpriced request spends nothing of it", async () => {
    const t = await tenantKey();
    const model = `up-daily-${uniq()}`;
    const b = await createBackend(db(), CLI_ACTOR, { name: `b-daily-${uniq()}`, baseUrl: up.url, discover: false, models: [model], public: true });
    const alias = (await createPolicy(db(), CLI_ACTOR, t.tenantId, { alias: `a-${uniq()}`, strategy: "single", targets: [{ type: "backend", backendId: b.id, model }] as never })).alias;
    const free = await t.alias(UNPRICED);
    await setPrice(db(), CLI_ACTOR, { model, input: "1000", output: "1000" });
    await setKeyLimits(db(), CLI_ACTOR, t.tenantId, { keyId: t.keyId, dailySpendBudget: "0.02" });
    await setTenantLimits(db(), CLI_ACTOR, t.tenantId, { monthlySpendBudget: "100" });
    clearApiKeyCache();
    up.behave({ kind: "reply" });
    // an unpriced request first: it has no cost to count against the budget
    const s: number[] = [(await chat(t.key, free).then(async (r) => (await r.arrayBuffer(), r))).status];
    for (let i = 0; i < 4; i++) s.push((await chat(t.key, alias).then(async (r) => (await r.arrayBuffer(), r))).status);
    expect(s).toEqual([200, 200, 200, 429, 429]);
    const r = await chat(t.key, alias);
    expect(r.headers.get("x-switchyard-budget-period-spend")).toBe("day");
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/daily spend budget of this API key/);
    // another key of the tenant is not held to this key's budget
    const other = await createApiKey(db(), CLI_ACTOR, t.tenantId, { name: `k-${uniq()}` });
    expect((await chat(other.key, alias)).status).toBe(200);
  });
});
