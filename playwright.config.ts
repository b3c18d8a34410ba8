/**
 * E2E: a real Chromium (Debian's, never downloaded) against `next build && next start`
 * under a base path, on a fresh SQLite database in .tmp/e2e/.
 * E2E_BASE_PATH picks the base path (default /llm); E2E_PORT the app's port.
 * E2E_VIA=nginx puts a real nginx, configured from deploy/nginx/, in front of it at the
 * same path (E2E_NGINX_PORT) and runs every test through it.
 * E2E_REUSE_BUILD=1 skips `next build` (the matrix builds each base path once and
 * runs it directly and behind nginx; a build for another base path refuses to start).
 */
import { defineConfig } from "@playwright/test";
import { E2E } from "./e2e/env";

export default defineConfig({
  testDir: "./e2e",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  use: {
    baseURL: `${E2E.origin}${E2E.basePath}/`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: `node_modules/.bin/tsx e2e/prepare.ts && ${process.env.E2E_REUSE_BUILD ? "" : "npm run build && "}npm start`,
      url: `${E2E.appOrigin}${E2E.basePath}/api/health?ready`,
      timeout: 240_000,
      reuseExistingServer: false,
      stdout: process.env.E2E_SERVER_LOG ? "pipe" : "ignore",
      stderr: "pipe",
      env: E2E.serverEnv,
    },
    ...(E2E.via === "nginx"
      ? [
          {
            command: "node_modules/.bin/tsx e2e/nginx.ts",
            url: `${E2E.origin}${E2E.basePath}/api/health?ready`,
            timeout: 240_000,
            reuseExistingServer: false,
            stdout: "pipe" as const,
            stderr: "pipe" as const,
          },
        ]
      : []),
  ],
});
