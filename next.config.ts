import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { NextConfig } from "next";
import { PHASE_PRODUCTION_SERVER } from "next/constants";
import { STANDALONE_EXCLUDES } from "./scripts/deploy/standalone-prune";
import { EnvError, parseBasePath } from "./server/env";
import { SECURITY_HEADERS } from "./server/http/security-headers";

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

/**
 * Files the standalone server reads at run time that Next's tracer cannot see (read
 * by path from process.cwd(), or loaded by a computed package name). The Dockerfile
 * copies `.next/standalone` alone, so anything missing here is missing in the image
 * (scripts/test-image.ts starts that copy by itself and fails on a gap).
 * LLAMA_BINARIES picks node-llama-cpp's prebuilt engines: `cpu` (default, 30 MB) or
 * `cuda` (adds the CUDA 12 builds, ~540 MB), or `none`.
 */
function tracingIncludes(): Record<string, string[]> {
  const llama = process.env.LLAMA_BINARIES ?? "cpu";
  if (!["cpu", "cuda", "none"].includes(llama)) {
    throw new Error(`LLAMA_BINARIES must be cpu, cuda or none (got "${llama}")`);
  }
  const engines =
    llama === "none"
      ? []
      : [
          "./node_modules/@node-llama-cpp/linux-x64/**",
          ...(llama === "cuda" ? ["./node_modules/@node-llama-cpp/linux-x64-cuda/**", "./node_modules/@node-llama-cpp/linux-x64-cuda-ext/**"] : []),
        ];
  return {
    // keys are globs over entry names ("app/…" routes and "instrumentation", which runs
    // the migrations); "**" is every entry. A key with "[file]" in it matches nothing.
    "**": [
      "./prisma/migrations/**/*.sql",
      "./node_modules/swagger-ui-dist/swagger-ui.css",
      "./node_modules/swagger-ui-dist/swagger-ui-bundle.js",
      "./node_modules/node-llama-cpp/package.json",
      "./node_modules/node-llama-cpp/dist/**",
      "./node_modules/node-llama-cpp/llama/*.json",
      ...engines,
    ],
  };
}

export default function config(phase: string): NextConfig {
  const basePath = resolveBasePath(phase);
  return {
    basePath,
    // `.next/standalone`: a self-contained server for the container image (Dockerfile).
    // `next start` keeps working on the same build (the e2e matrix uses it).
    output: "standalone",
    outputFileTracingIncludes: tracingIncludes(),
    // Some server modules resolve paths from process.cwd(), so the tracer takes in the
    // whole project; keep local state, secrets and dev-only files out of the image.
    // (`npm run build` prunes the same list from instrumentation's trace afterwards.)
    outputFileTracingExcludes: { "**": STANDALONE_EXCLUDES },
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
          headers: Object.entries(SECURITY_HEADERS).map(([key, value]) => ({ key, value })),
        },
      ];
    },
  };
}
