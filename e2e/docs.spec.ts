import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "./fixtures";
import { E2E } from "./env";

test("/docs renders from our own origin and 'try it' calls the API under the base path", async ({ page }) => {
  await page.goto(`${E2E.basePath}/docs`);
  await expect(page.getByRole("heading", { name: /Switchyard API/ })).toBeVisible();

  const key = readFileSync(path.join(E2E.root, ".tmp/e2e/api-key"), "utf8").trim();
  await page.getByRole("button", { name: "Authorize" }).first().click();
  await page.getByRole("textbox", { name: "auth-bearer-value" }).fill(key);
  await page.getByRole("button", { name: "Apply credentials" }).first().click();
  await page.getByRole("button", { name: "Close" }).first().click();

  await page.locator("#operations-default-get_models .opblock-summary").click();
  const op = page.locator("#operations-default-get_models");
  const tryIt = op.getByRole("button", { name: "Try it out" });
  if (await tryIt.isVisible()) await tryIt.click();
  const response = page.waitForResponse((r) => r.url() === `${E2E.origin}${E2E.basePath}/api/v1/models`);
  await op.getByRole("button", { name: "Execute" }).click();
  expect((await response).status()).toBe(200);
  await expect(op.locator(".live-responses-table tbody .response-col_status").first()).toHaveText("200");
});
