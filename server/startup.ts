/**
 * Server start-up (Node runtime only, called from instrumentation.ts): validates the
 * environment — a bad value stops the server with the variable's name — and applies
 * pending migrations before the first request is served.
 */
import { migrate } from "./db/migrate";
import { env } from "./env";

export async function startServer(): Promise<void> {
  try {
    const e = env();
    if (process.env.SWITCHYARD_SKIP_MIGRATE === "1") return;
    const result = await migrate(e.DATABASE_URL);
    if (result.applied.length) console.log(`[db] applied migrations: ${result.applied.join(", ")}`);
  } catch (err) {
    // Serving with a bad configuration or an unmigrated database would only fail later and less clearly.
    console.error(`[switchyard] cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
}
