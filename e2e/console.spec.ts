import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { E2E } from "./env";

const B = E2E.basePath;

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

test("a signed-out visitor is sent to sign-in under the base path, and back after it", async ({ page }) => {
  await page.goto(`${B}/users`);
  await expect(page).toHaveURL(`${E2E.origin}${B}/signin?callbackUrl=%2Fusers`);
  await expect(page.getByRole("heading", { name: "Sign in" }).or(page.getByText("Sign in to the admin console"))).toBeVisible();
  await signIn(page, E2E.admin.email, E2E.admin.password);
  await expect(page).toHaveURL(`${E2E.origin}${B}/users`);
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  await expect(page.getByText(E2E.member.email)).toBeVisible();
});

test("a wrong password shows an error and does not sign in", async ({ page }) => {
  await page.goto(`${B}/signin`);
  await signIn(page, E2E.admin.email, "not-the-password");
  await expect(page.locator(".alert-error")).toHaveText("Wrong email or password.");
  await expect(page).toHaveURL(new RegExp(`${B}/signin`));
  // Still signed out: a console page redirects to sign-in.
  await page.goto(`${B}/tenants`);
  await expect(page).toHaveURL(new RegExp(`${B}/signin\\?callbackUrl=%2Ftenants$`));
});

test("admin creates a tenant, manages a member, suspends the tenant and signs out", async ({ page }) => {
  const slug = `acme-${Date.now().toString(36)}`;
  await page.goto(`${B}/`);
  await expect(page).toHaveURL(new RegExp(`${B}/signin`));
  await signIn(page, E2E.admin.email, E2E.admin.password);
  await expect(page).toHaveURL(`${E2E.origin}${B}/tenants`);

  // Create, with validation as you type.
  await page.getByRole("button", { name: "New tenant" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("Acme Robotics");
  await dialog.getByLabel("Slug").fill("-bad");
  await dialog.getByLabel("Slug").blur();
  await expect(dialog.getByText(/lower-case letters, digits and dashes/i).first()).toBeVisible();
  await dialog.getByLabel("Slug").fill(slug);
  await dialog.getByRole("button", { name: "Create tenant" }).click();
  await expect(page).toHaveURL(`${E2E.origin}${B}/tenants/${slug}`);
  await expect(page.getByRole("heading", { name: /Acme Robotics/ })).toBeVisible();
  await page.getByRole("tab", { name: "Members" }).click();

  // Add a member: an unknown email is refused in words, then the real one is added.
  await page.getByLabel("Email").fill("nobody@e2e.test");
  await page.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByText("User with email nobody@e2e.test not found")).toBeVisible();
  await page.getByLabel("Email").fill(E2E.member.email);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Add member" }).click();
  const row = page.getByTestId(`member-${E2E.member.email}`);
  await expect(row).toBeVisible();

  // Change the role.
  await row.getByLabel(`Role of ${E2E.member.email}`).selectOption("admin");
  await expect(page.getByText(`${E2E.member.email} is now admin`)).toBeVisible();
  await page.reload();
  await expect(page.getByTestId(`member-${E2E.member.email}`).getByLabel(`Role of ${E2E.member.email}`)).toHaveValue("admin");

  // Remove, with confirmation.
  await page.getByTestId(`member-${E2E.member.email}`).getByRole("button", { name: "Remove" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId(`member-${E2E.member.email}`)).toHaveCount(0);

  // The audit trail shows what happened.
  await page.getByRole("tab", { name: "Activity" }).click();
  await expect(page.getByText("member.remove")).toBeVisible();
  await expect(page.getByText("member.role_change")).toBeVisible();

  // Suspend.
  await page.getByRole("button", { name: "Suspend tenant" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Suspend" }).click();
  await expect(page.getByText("This tenant is suspended")).toBeVisible();
  await page.goto(`${B}/tenants`);
  await expect(page.getByRole("row", { name: new RegExp(slug) }).getByText("suspended")).toBeVisible();

  // Sign out → sign-in page under the base path; the console is closed again.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(new RegExp(`${B}/signin`));
  await page.goto(`${B}/tenants/${slug}`);
  await expect(page).toHaveURL(`${E2E.origin}${B}/signin?callbackUrl=%2Ftenants%2F${slug}`);
});

test("a member sees only their tenants and cannot manage members", async ({ page }) => {
  // The member was removed above; add them back as viewer through the CLI-made admin session.
  await page.goto(`${B}/signin`);
  await signIn(page, E2E.member.email, E2E.member.password);
  await expect(page).toHaveURL(`${E2E.origin}${B}/tenants`);
  await expect(page.getByRole("button", { name: "New tenant" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Users" })).toHaveCount(0);
  // A platform-only page answers with a clear error, not data.
  await page.goto(`${B}/users`);
  await expect(page.getByText("Only platform admins can do this")).toBeVisible();
});
