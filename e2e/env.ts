import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const port = Number(process.env.E2E_PORT ?? 3210);
const basePath = process.env.E2E_BASE_PATH ?? "/llm";
// localhost, not 127.0.0.1: Next canonicalises one to the other and cookies would split across hosts.
const origin = `http://localhost:${port}`;

export const E2E = {
  root,
  port,
  basePath,
  origin,
  admin: { email: "admin@e2e.test", password: "admin-password-e2e" },
  member: { email: "member@e2e.test", password: "member-password-e2e" },
  serverEnv: {
    NODE_ENV: "production",
    BASE_PATH: basePath,
    PORT: String(port),
    PUBLIC_URL: origin,
    DATABASE_URL: `file:${path.join(root, ".tmp/e2e/e2e.db")}`,
    AUTH_SECRET: "e2e-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    PASSWORD_HASH_COST: "6",
    NEXT_TELEMETRY_DISABLED: "1",
  } as Record<string, string>,
};
