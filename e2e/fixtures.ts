import { test as base, expect } from "@playwright/test";
import { E2E } from "./env";

/**
 * Every browser test also checks that the page never reached another origin: no
 * CDN, no fonts, no telemetry — the whole product is served from our own origin,
 * directly or through the proxy.
 */
export const test = base.extend<{ foreignRequests: string[] }>({
  foreignRequests: [
    async ({ page }, use) => {
      const foreign: string[] = [];
      page.on("request", (r) => {
        const url = r.url();
        if (!url.startsWith(`${E2E.origin}/`) && !url.startsWith("data:") && !url.startsWith("blob:")) foreign.push(url);
      });
      await use(foreign);
      expect(foreign, "requests to other origins").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
