/**
 * First-run set-up, idempotent: writes .env with a generated AUTH_SECRET if there
 * is none, creates and migrates the database, and makes sure a platform admin
 * exists (ADMIN_EMAIL / ADMIN_PASSWORD, or a generated password printed once).
 * `npm run quickstart` runs it between `npm ci` and the build.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const envFile = path.join(root, ".env");

function ensureEnvFile() {
  const current = existsSync(envFile) ? readFileSync(envFile, "utf8") : "";
  if (!process.env.AUTH_SECRET && !/^AUTH_SECRET=/m.test(current)) {
    const secret = randomBytes(32).toString("base64url");
    if (!current) {
      writeFileSync(
        envFile,
        "# Written by `npm run setup`. Keep AUTH_SECRET secret and stable: it signs sessions and hashes API keys.\n",
        { mode: 0o600 },
      );
    }
    appendFileSync(envFile, `${current && !current.endsWith("\n") ? "\n" : ""}AUTH_SECRET=${secret}\n`);
    console.log("• wrote a new AUTH_SECRET to .env");
  }
  // Variables already set win over .env (loadEnvFile does not override them).
  if (existsSync(envFile)) process.loadEnvFile(envFile);
}

async function main() {
  process.chdir(root);
  ensureEnvFile();
  const { env } = await import("../server/env");
  const e = env();
  const { migrate } = await import("../server/db/migrate");
  const m = await migrate(e.DATABASE_URL);
  console.log(
    `• database (${m.provider}): ${m.applied.length ? `applied ${m.applied.join(", ")}` : "up to date"}`,
  );

  const { db } = await import("../server/db/client");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { countPlatformAdmins, createPlatformAdmin } = await import("../server/services/users/users");
  const email = process.env.ADMIN_EMAIL?.trim() || "admin@switchyard.local";
  if ((await countPlatformAdmins(db())) === 0) {
    const generated = !process.env.ADMIN_PASSWORD;
    const password = process.env.ADMIN_PASSWORD || randomBytes(12).toString("base64url");
    await createPlatformAdmin(db(), CLI_ACTOR, { email, password, name: "Admin" }, { update: true });
    console.log(`• created platform admin ${email}`);
    if (generated) {
      console.log(`\n  Sign in with:  ${email}  /  ${password}\n  (shown once — change it, or set ADMIN_PASSWORD next time)\n`);
    }
  } else {
    console.log("• a platform admin already exists");
  }
  await demoModelAndKey(e.APP_URL);
  await db().$disconnect();
  console.log(`• ready: the console will be at ${e.APP_URL}/`);
}

/**
 * Offline out of the box: the project's own tiny scripted GGUF as models "demo" (chat)
 * and "demo-embeddings", and on the very first run a "default" tenant with an API key
 * printed once.
 */
async function demoModelAndKey(appUrl: string) {
  const { db } = await import("../server/db/client");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { registerDemoModels } = await import("../server/services/models/demo");
  const added = await registerDemoModels(db(), path.join(root, "data/models"));
  if (added.includes("demo")) {
    console.log("• registered the demo model (a tiny scripted llama generated offline; pull a real one with `npm run cli -- model pull`)");
  }
  if (added.includes("demo-embeddings")) console.log("• registered demo-embeddings (the same file, serving /api/v1/embeddings)");
  if ((await db().tenant.count()) > 0) return;
  const { createTenant } = await import("../server/services/tenants/tenants");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const tenant = await createTenant(db(), CLI_ACTOR, { slug: "default", name: "Default" });
  const { key } = await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "quickstart" });
  console.log(`• created tenant "default" and an API key (shown once):\n\n  ${key}\n`);
  console.log(
    `  Try it once the server is up:\n  curl -N ${appUrl}/api/v1/chat/completions -H "Authorization: Bearer ${key}" \\\n    -H "Content-Type: application/json" -d '{"model":"demo","messages":[{"role":"user","content":"Hi"}],"stream":true}'\n` +
      `  curl ${appUrl}/api/v1/embeddings -H "Authorization: Bearer ${key}" \\\n    -H "Content-Type: application/json" -d '{"model":"demo-embeddings","input":"Hello"}'\n`,
  );
}

main().catch((err) => {
  console.error(`setup failed: ${(err as Error).message}`);
  process.exit(1);
});
