/**
 * Spend through the console: a platform admin prices the local demo model, holds a new
 * key to a money budget in the Limits tab, calls /api/v1 with it until the budget is
 * spent (429 budget_exceeded), and sees the spend move on the Overview, in the usage log
 * and in the Limits tab.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { E2E } from "./env";
import { usageRow } from "./usage-log";

const B = E2E.basePath;
const shots = path.join(E2E.root, "artifacts/screenshots", `${B.replaceAll("/", "_") || "root"}-${E2E.via}`);

async function signIn(page: Page, to: string) {
  await page.goto(`${B}/signin?callbackUrl=${encodeURIComponent(to)}`);
  await page.getByLabel("Email").fill(E2E.admin.email);
  await page.getByLabel("Password").fill(E2E.admin.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${B}${to.replace("?", "\\?")}`));
}

async function screenshot(page: Page, name: string) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

const chat = (key: string) =>
  fetch(`${E2E.origin}${B}/api/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "Hi" }], max_tokens: 32 }),
  });

test("an admin prices a model and sets a $ budget in the console; calls spend it, the spend shows, and the API answers 429 when it runs out", async ({ page }) => {
  // 1. a price for the local demo model: 100 per million tokens, in and out
  await signIn(page, "/prices");
  await page.getByRole("button", { name: "Set a price" }).click();
  const priceForm = page.getByRole("dialog");
  await priceForm.getByLabel(/^Model/).fill("demo");
  await priceForm.getByLabel("Input / M tokens").fill("1,5");
  await expect(priceForm.getByText(/The input price must be a decimal amount/)).toBeVisible();
  await priceForm.getByLabel("Input / M tokens").fill("100");
  await priceForm.getByLabel("Output / M tokens").fill("100");
  await priceForm.getByRole("button", { name: "Save price" }).click();
  await expect(page.getByTestId("price-demo")).toContainText("100.00");
  await screenshot(page, "prices");

  // 2. a new key, held to a monthly spend budget of 0.01 USD in the Limits tab
  await page.goto(`${B}/tenants/default?tab=keys`);
  await page.getByRole("button", { name: "Create key" }).click();
  const keyForm = page.getByRole("dialog");
  await keyForm.getByLabel("Name").fill("spender");
  await keyForm.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-api-key").textContent())!.trim();
  await page.getByRole("button", { name: "I have saved it" }).click();
  await page.getByRole("tab", { name: "Limits" }).click();
  await page.getByTestId("key-limits-spender").getByRole("button", { name: "Edit" }).click();
  const limits = page.getByRole("dialog");
  await limits.getByLabel("Monthly spend budget").fill("0.01");
  await limits.getByRole("button", { name: "Save limits" }).click();
  await expect(page.getByTestId("key-limits-spender")).toContainText("0.01 USD");

  await page.getByRole("tab", { name: "Overview" }).click();
  const spendStat = page.getByTestId("stat-spend");
  await expect(spendStat).toHaveText(/USD/);
  const before = (await spendStat.textContent())!;

  // 3. calls until the budget is spent: each costs its tokens at 100 per million
  const statuses: number[] = [];
  let firstId = "";
  let lastBody: { error?: { code: string; message: string } } = {};
  for (let i = 0; i < 40 && statuses.at(-1) !== 429; i++) {
    const res = await chat(key);
    statuses.push(res.status);
    if (res.status === 200) {
      firstId ||= res.headers.get("x-request-id")!;
      expect(res.headers.get("x-switchyard-budget-limit-spend")).toBe("0.01");
    }
    lastBody = (await res.json()) as typeof lastBody;
  }
  expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
  expect(statuses.at(-1)).toBe(429);
  expect(lastBody.error?.code).toBe("budget_exceeded");
  expect(lastBody.error?.message).toMatch(/monthly spend budget of this API key is used up/);

  // 4. the spend moved: Overview (card and by model), usage log row and detail, Limits
  await expect
    .poll(
      async () => {
        await page.reload();
        await expect(spendStat).toHaveText(/USD/);
        return spendStat.textContent();
      },
      { timeout: 30_000 },
    )
    .not.toBe(before);
  await expect(page.getByTestId("spend-by-model")).toContainText("demo");
  await screenshot(page, "overview-spend");

  await page.getByRole("tab", { name: "Usage log" }).click();
  await page.getByLabel("Request id").fill(firstId);
  const row = await usageRow(page, firstId);
  await expect(row.getByTestId("usage-cost")).toHaveText(/^0\.\d+ USD$/);
  await row.getByRole("button").click();
  const detail = page.getByRole("dialog");
  await expect(detail.getByTestId("detail-cost")).toHaveText(/^0\.\d+ USD$/);
  await expect(detail.locator("dt:text('Price') + dd")).toContainText("100.00 in");
  await detail.getByRole("button", { name: "Close" }).click();

  await page.getByRole("tab", { name: "Limits" }).click();
  await expect(page.getByTestId("key-limits-spender")).toContainText(/0\.01\d* USD/);
  await screenshot(page, "limits-spend");
});
