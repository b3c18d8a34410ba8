import path from "node:path";
import { defineConfig } from "vitest/config";

// Two tiers (e2e is Playwright, see playwright.config.ts):
//   unit         *.test.ts beside the code, no I/O
//   integration  *.int.test.ts, a real database chosen by TEST_DB=sqlite|postgresql
export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      // Next resolves the marker with the react-server condition (to its empty module); so do tests
      "server-only": path.resolve(import.meta.dirname, "node_modules/server-only/empty.js"),
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["server/**/*.test.ts", "app/**/*.test.ts", "scripts/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "node_modules/**"],
          environment: "node",
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["server/**/*.int.test.ts", "scripts/**/*.int.test.ts"],
          environment: "node",
          globalSetup: ["server/test/global-setup.ts"],
          setupFiles: ["server/test/setup-env.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // one database per run; files run in parallel against it (fresh tenant per test)
          fileParallelism: true,
        },
      },
    ],
  },
});
