import type { Locator, Page } from "@playwright/test";
import { expect } from "./fixtures";

/**
 * The Usage log tab's row for one request, once the log shows it: rows are written after
 * the response ends, so apply the filters until it appears.
 */
export async function usageRow(page: Page, requestId: string): Promise<Locator> {
  const row = page.getByTestId(`usage-row-${requestId}`);
  await expect
    .poll(
      async () => {
        await page.getByRole("button", { name: "Apply" }).click();
        return row.count();
      },
      { timeout: 15_000 },
    )
    .toBe(1);
  return row;
}
