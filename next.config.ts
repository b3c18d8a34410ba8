import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { NextConfig } from "next";
import { PHASE_PRODUCTION_SERVER } from "next/constants";
import { EnvError, parseBasePath } from "./server/env";

/**
 * BASE_PATH is fixed at build time: Next bakes it into every asset URL and link.
 * `next start` re-reads this file, so there we take the base path the build used
 * (from its routes manifest) and refuse a different BASE_PATH instead of serving
 * a broken app.
 */
function resolveBasePath(phase: string): string {
  const requested = process.env.BASE_PATH;
  const manifest = path.join(process.cwd(), ".next", "routes-manifest.json");
  if (phase === PHASE_PRODUCTION_SERVER && existsSync(manifest)) {
    const built = (JSON.parse(readFileSync(manifest, "utf8")) as { basePath?: string }).basePath ?? "";
    if (requested !== undefined && parseBasePath(requested) !== built) {
      throw new EnvError([
        {
          code: "custom",
          path: ["BASE_PATH"],
          input: requested,
          message: `the app was built with BASE_PATH="${built}" but started with "${parseBasePath(requested)}"; the base path is fixed at build time, so rebuild (npm run build) to change it`,
        },
      ]);
    }
    return built;
  }
  return parseBasePath(requested);
}

export default function config(phase: string): NextConfig {
  const basePath = resolveBasePath(phase);
  return {
    basePath,
    reactStrictMode: true,
    poweredByHeader: false,
    // Native and driver modules must be required at run time, not bundled.
    serverExternalPackages: [
      "better-sqlite3",
      "pg",
      "@prisma/adapter-better-sqlite3",
      "@prisma/adapter-pg",
      "bcryptjs",
      "node-llama-cpp",
      // one instance per process, shared by route handlers and instrumentation (see server/metrics/metrics.ts)
      "prom-client",
      "ioredis",
    ],
    env: { NEXT_PUBLIC_BASE_PATH: basePath },
    async headers() {
      return [
        {
          source: "/:path*",
          headers: [
            { key: "X-Content-Type-Options", value: "nosniff" },
            { key: "Referrer-Policy", value: "same-origin" },
            { key: "X-Frame-Options", value: "DENY" },
          ],
        },
      ];
    },
  };
}
