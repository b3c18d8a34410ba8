/**
 * The tenant console an admin works in: keys (create once-shown, revoke, rotate),
 * the usage log and overview reflecting real /api/v1 calls, CSV export, the
 * playground streaming through /api/v1, and what a viewer may not do.
 */
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { E2E } from "./env";
import { usageRow } from "./usage-log";

const B = E2E.basePath;
const DEMO_REPLY = "Hello from Switchyard. The gateway works.";
const shots = path.join(E2E.root, "artifacts/screenshots", `${B.replaceAll("/", "_") || "root"}-${E2E.via}`);

async function signIn(page: Page, who: { email: string; password: string }, to = "/tenants/default") {
  await page.goto(`${B}/signin?callbackUrl=${encodeURIComponent(to)}`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
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
    body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "Hi" }] }),
  });

/** The overview's request counter, once it shows a number (not its loading skeleton). */
async function requestCount(page: Page): Promise<number> {
  const stat = page.getByTestId("stat-requests");
  await expect(stat).toHaveText(/\d/);
  return Number((await stat.textContent())!.replace(/\D/g, ""));
}

async function createKey(page: Page, name: string): Promise<string> {
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-api-key").textContent())!.trim();
  expect(key).toMatch(/^sk-sy-/);
  return key;
}

test("an admin creates a key, sees it once, calls the API with it, and finds the request in the log and the overview", async ({ page }) => {
  await signIn(page, E2E.admin, "/tenants/default?tab=overview");
  const requestsBefore = await requestCount(page);
  await screenshot(page, "overview");

  await page.getByRole("tab", { name: "API keys" }).click();
  await expect(page).toHaveURL(/tab=keys/);
  const key = await createKey(page, "e2e service");
  await screenshot(page, "key-created");
  await page.getByRole("button", { name: "I have saved it" }).click();
  await page.reload();
  await expect(page.getByTestId("key-e2e service")).toContainText(key.slice(0, 12));
  await expect(page.getByText(key)).toHaveCount(0);
  await screenshot(page, "keys");

  const res = await chat(key);
  expect(res.status).toBe(200);
  const requestId = res.headers.get("x-request-id")!;

  await page.getByRole("tab", { name: "Usage log" }).click();
  const row = await usageRow(page, requestId);
  await expect(row).toContainText("e2e service");
  await row.getByRole("button").click();
  await expect(page.getByRole("dialog")).toContainText(requestId);
  await screenshot(page, "usage-detail");
  await page.getByRole("dialog").getByRole("button", { name: "Close" }).click();

  await page.getByRole("tab", { name: "Overview" }).click();
  await expect(page).toHaveURL(/tab=overview/); // the reloads below must stay on this tab
  await expect
    .poll(
      async () => {
        await page.reload();
        return requestCount(page);
      },
      { timeout: 15_000 },
    )
    .toBeGreaterThan(requestsBefore);
  await expect(page.getByTestId("top-keys").getByText("e2e service")).toBeVisible();

  // Revoke: the API refuses the key (within the one-second verification cache).
  await page.getByRole("tab", { name: "API keys" }).click();
  await page.getByTestId("key-e2e service").getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
  await expect(page.getByTestId("key-e2e service")).toContainText("revoked");
  await expect.poll(async () => (await chat(key)).status, { timeout: 5_000 }).toBe(401);
});

test("rotating a key issues a new one and both work during the grace period", async ({ page }) => {
  await signIn(page, E2E.admin, "/tenants/default?tab=keys");
  const old = await createKey(page, "rotating");
  await page.getByRole("button", { name: "I have saved it" }).click();
  await page.getByTestId("key-rotating").getByRole("button", { name: "Rotate" }).click();
  await page.getByRole("dialog").getByLabel("Old key keeps working for").selectOption("3600");
  await page.getByRole("dialog").getByRole("button", { name: "Rotate key" }).click();
  const fresh = (await page.getByTestId("new-api-key").textContent())!.trim();
  expect(fresh).not.toBe(old);
  await expect(page.getByRole("dialog")).toContainText("The old key works until");
  await page.getByRole("button", { name: "I have saved it" }).click();
  expect((await chat(fresh)).status).toBe(200);
  expect((await chat(old)).status).toBe(200);
  await expect(page.getByTestId("key-rotating")).toHaveCount(2);
  // The audit trail has it, and filters by action.
  await page.getByRole("tab", { name: "Activity" }).click();
  await page.getByLabel("Filter by action").fill("api_key.rot");
  await expect(page.locator("tbody code", { hasText: "api_key.rotate" }).first()).toBeVisible();
  await expect(page.locator("tbody code", { hasText: "api_key.create" })).toHaveCount(0);
  await screenshot(page, "activity");
});

test("key security: signing shows its secret once, unsigned calls are refused and the usage log says why; an allowlist is saved", async ({ page }) => {
  const { signatureHeader } = await import("../server/auth/request-signing");
  await signIn(page, E2E.admin, "/tenants/default?tab=keys");
  const key = await createKey(page, "secured");
  await page.getByRole("button", { name: "I have saved it" }).click();
  await page.getByTestId("key-secured").getByRole("button", { name: "Security", exact: true }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Require signed requests" }).click();
  const secret = (await page.getByTestId("new-api-key").textContent())!.trim();
  expect(secret).toMatch(/^sy-sig-[0-9A-Za-z]{43}$/);
  await page.getByRole("button", { name: "I have saved it" }).click();
  await expect(page.getByText(secret)).toHaveCount(0);
  await expect(page.getByTestId("key-secured").getByTestId("key-security")).toContainText("signed");

  const unsigned = await chat(key);
  expect(unsigned.status).toBe(401);
  const body = JSON.stringify({ model: "demo", messages: [{ role: "user", content: "Hi" }] });
  const p = `${B}/api/v1/chat/completions`;
  const signed = await fetch(`${E2E.origin}${p}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "x-switchyard-signature": signatureHeader(secret, Math.floor(Date.now() / 1000), "POST", p, body),
    },
    body,
  });
  expect(signed.status).toBe(200);

  await page.getByTestId("key-secured").getByRole("button", { name: "Security", exact: true }).click();
  await page.getByRole("dialog").getByLabel("IP allowlist").fill("10.0.0.0/8\n2001:DB8::/32");
  await page.getByRole("dialog").getByRole("button", { name: "Save allowlist" }).click();
  await expect(page.getByTestId("key-secured").getByTestId("key-security")).toContainText("IP: 10.0.0.0/8, 2001:db8::/32");

  await page.getByRole("tab", { name: "Usage log" }).click();
  const row = await usageRow(page, unsigned.headers.get("x-request-id")!);
  await expect(row.getByTestId("error-code")).toHaveText("denied: signature_required");
  await screenshot(page, "usage-denied");
});

test("the playground streams a reply through /api/v1 and the request is logged", async ({ page }) => {
  await signIn(page, E2E.admin, "/tenants/default?tab=playground");
  await expect(page.getByLabel("Model")).toHaveValue("demo");
  await page.getByLabel("Message").fill("Hi");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("msg-assistant")).toHaveText(DEMO_REPLY);
  await expect(page.getByTestId("chat-stats")).toContainText("tokens in");
  await screenshot(page, "playground");
  // the same conversation in the Responses dialect: its raw events as a client receives them
  await page.getByRole("button", { name: "Clear" }).click();
  await page.getByLabel("API").selectOption("responses");
  await page.getByLabel("Message").fill("Hi");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("msg-assistant")).toHaveText(DEMO_REPLY);
  await page.getByText("Raw events").click();
  await expect(page.getByTestId("raw-events")).toContainText("event: response.output_text.delta");
  await expect(page.getByTestId("raw-events")).toContainText("event: response.completed");
  await screenshot(page, "playground-responses");
  await page.getByRole("tab", { name: "Usage log" }).click();
  await page.getByLabel("Key").selectOption("");
  await expect(page.getByTestId("usage-table").getByText("console").first()).toBeVisible();
});

test("CSV export downloads exactly the filtered rows", async ({ page }) => {
  await signIn(page, E2E.admin, "/tenants/default?tab=usage");
  await page.getByLabel("Status").selectOption("ok");
  await page.getByLabel("Model").fill("demo");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("usage-table").locator("tbody tr").first()).toBeVisible();
  await screenshot(page, "usage");
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const file = await (await download).path();
  const lines = readFileSync(file, "utf8").trim().split("\n");
  expect(lines[0]).toBe(
    "createdAt,requestId,endpoint,modelRequested,modelUsed,apiKeyId,userId,status,httpStatus,errorCode,stream,promptTokens,completionTokens,cachedTokens,toolsOffered,toolCalls,ttftMs,latencyMs,cost,currency",
  );
  const rows = lines.slice(1).map((l) => l.split(","));
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) {
    expect(r[3]).toBe("demo");
    expect(r[7]).toBe("ok");
  }
  // The filtered export is a subset: the unfiltered one has the error rows too.
  await page.getByRole("button", { name: "Clear" }).click();
});

test("a viewer sees keys and usage but cannot create a key: no button, and the procedure refuses", async ({ page }) => {
  await signIn(page, E2E.viewer, "/tenants/default?tab=keys");
  await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Create key" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Revoke" })).toHaveCount(0);
  await expect(page.getByRole("tab", { name: "Playground" })).toHaveCount(0);
  const status = await page.evaluate(async (base) => {
    const q = encodeURIComponent(JSON.stringify({ json: { slug: "default" } }));
    const tenant = await (await fetch(`${base}/api/trpc/tenants.bySlug?input=${q}`)).json();
    const res = await fetch(`${base}/api/trpc/apiKeys.create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: { tenantId: tenant.result.data.json.id, name: "sneaky" } }),
    });
    return res.status;
  }, B);
  expect(status).toBe(403);
  await page.getByRole("tab", { name: "Usage log" }).click();
  await expect(page.getByTestId("usage-table")).toBeVisible();
});

test("a platform admin sees models with their runtime state", async ({ page }) => {
  await signIn(page, E2E.admin, "/models");
  const row = page.getByTestId("model-demo");
  await expect(row).toBeVisible();
  await row.getByRole("button", { name: /^(Load|Unload)$/ }).first().waitFor();
  if (await row.getByRole("button", { name: "Load" }).count()) await row.getByRole("button", { name: "Load" }).click();
  await expect(row).toContainText("loaded");
  await screenshot(page, "models");
});

test("an admin holds a key to 2 requests a minute in the console, and the API answers the third with 429", async ({ page }) => {
  await signIn(page, E2E.admin, "/tenants/default?tab=keys");
  const key = await createKey(page, "limited");
  await page.getByRole("button", { name: "I have saved it" }).click();
  await page.getByRole("tab", { name: "Limits" }).click();
  await page.getByTestId("key-limits-limited").getByRole("button", { name: "Edit" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Requests per minute").fill("0");
  await expect(dialog.getByText(/at least 1/)).toBeVisible();
  await dialog.getByLabel("Requests per minute").fill("2");
  await dialog.getByRole("button", { name: "Save limits" }).click();
  await expect(page.getByTestId("key-limits-limited")).toContainText("2");
  await screenshot(page, "limits");
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await chat(key)).status);
  expect(statuses).toEqual([200, 200, 429]);
  const over = await chat(key);
  expect(over.headers.get("retry-after")).toBeTruthy();
  expect((await over.json()).error.type).toBeTruthy();
});
