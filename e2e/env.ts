import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const port = Number(process.env.E2E_PORT ?? 3210);
const nginxPort = Number(process.env.E2E_NGINX_PORT ?? 3211);
const basePath = process.env.E2E_BASE_PATH ?? "/llm";
/** "next": the browser talks to `next start`; "nginx": to nginx mounted at the same base path in front of it. */
const via = process.env.E2E_VIA === "nginx" ? "nginx" : "next";
// localhost, not 127.0.0.1: Next canonicalises one to the other and cookies would split across hosts.
const appOrigin = `http://localhost:${port}`;
const origin = via === "nginx" ? `http://localhost:${nginxPort}` : appOrigin;

export const E2E = {
  root,
  port,
  nginxPort,
  basePath,
  via,
  /** where the browser and the tests reach the app */
  origin,
  appOrigin,
  admin: { email: "admin@e2e.test", password: "admin-password-e2e" },
  member: { email: "member@e2e.test", password: "member-password-e2e" },
  /** a viewer of the "default" tenant */
  viewer: { email: "viewer@e2e.test", password: "viewer-password-e2e" },
  serverEnv: {
    NODE_ENV: "production",
    BASE_PATH: basePath,
    PORT: String(port),
    // The public URL is the proxy's when there is one, as the deployment guide says.
    PUBLIC_URL: origin,
    TRUST_PROXY: via === "nginx" ? "1" : "false",
    DATABASE_URL: `file:${path.join(root, ".tmp/e2e/e2e.db")}`,
    AUTH_SECRET: "e2e-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    PASSWORD_HASH_COST: "6",
    NEXT_TELEMETRY_DISABLED: "1",
    // no background llama.cpp compile competing with the browser tests for the CPUs
    ENGINE_AUTO_BUILD: "off",
  } as Record<string, string>,
};
