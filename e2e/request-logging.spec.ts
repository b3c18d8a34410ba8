/**
 * Body logging as a tenant admin uses it: turn it on in the tenant settings, call the
 * API with a secret in the conversation, open the request in the usage log and read
 * the conversation — the secret redacted, the answer there.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { E2E } from "./env";
import { usageRow } from "./usage-log";

const B = E2E.basePath;
const DEMO_REPLY = "Hello from Switchyard. The gateway works.";
const shots = path.join(E2E.root, "artifacts/screenshots", `${B.replaceAll("/", "_") || "root"}-${E2E.via}`);

async function signIn(page: Page, who: { email: string; password: string }, to: string) {
  await page.goto(`${B}/signin?callbackUrl=${encodeURIComponent(to)}`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${B}${to.replace("?", "\\?")}`));
}

async function setBodies(page: Page, on: boolean) {
  await page.goto(`${B}/tenants/default?tab=settings`);
  const panel = page.getByTestId("tenant-logging");
  const box = panel.getByLabel("Store request and response bodies");
  await expect(box).toBeEnabled();
  if ((await box.isChecked()) !== on) await box.click();
  await panel.getByRole("button", { name: "Save logging settings" }).click();
  await expect(panel.getByText(on ? "bodies stored" : "bodies off")).toBeVisible();
}

test("a tenant with body logging on opens a request in the usage log and reads its conversation", async ({ page }) => {
  await signIn(page, E2E.admin, "/tenants/default?tab=settings");
  await setBodies(page, true);

  await page.getByRole("tab", { name: "API keys" }).click();
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("e2e logging");
  await dialog.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-api-key").textContent())!.trim();
  await page.getByRole("button", { name: "I have saved it" }).click();

  const res = await fetch(`${E2E.origin}${B}/api/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "demo",
      stream: true,
      messages: [
        { role: "system", content: "You answer support tickets." },
        { role: "user", content: `Hi, my key is ${key}, mail me at jo@example.com` },
      ],
    }),
  });
  expect(res.status).toBe(200);
  await res.text();
  const requestId = res.headers.get("x-request-id")!;

  await page.goto(`${B}/tenants/default?tab=usage`);
  const row = await usageRow(page, requestId);
  await row.getByRole("button").click();
  const conversation = page.getByRole("dialog").getByTestId("conversation");
  await expect(conversation.getByTestId("message-system")).toContainText("You answer support tickets.");
  const user = conversation.getByTestId("message-user");
  await expect(user).toContainText(/Hi, my key is \[REDACTED:api_key len=49 hash=[0-9a-f]{8}\], mail me at \[REDACTED:email len=14 /);
  await expect(conversation.getByTestId("answer")).toContainText(DEMO_REPLY);
  await expect(page.getByRole("dialog")).not.toContainText(key);
  mkdirSync(shots, { recursive: true });
  await conversation.getByTestId("answer").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, "usage-conversation.png") });
  await page.getByRole("dialog").getByRole("button", { name: "Close" }).click();

  // other specs share the default tenant: leave it as it was
  await setBodies(page, false);
});
