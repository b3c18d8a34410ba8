import type { NextConfig } from "next";
import { parseBasePath } from "./server/env";

// BASE_PATH is fixed at build time: Next bakes it into every asset URL and link.
const basePath = parseBasePath(process.env.BASE_PATH);

const config: NextConfig = {
  basePath,
  reactStrictMode: true,
  poweredByHeader: false,
  // Native and driver modules must be required at run time, not bundled.
  serverExternalPackages: ["better-sqlite3", "pg", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "bcryptjs"],
  env: { NEXT_PUBLIC_BASE_PATH: basePath },
  typescript: { ignoreBuildErrors: false },
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

export default config;
