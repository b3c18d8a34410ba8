/**
 * Runs once when the Next server starts: validates the environment (a bad value
 * stops the server with the variable's name) and applies pending migrations.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { env } = await import("./server/env");
  try {
    const e = env();
    if (process.env.SWITCHYARD_SKIP_MIGRATE === "1") return;
    const { migrate } = await import("./server/db/migrate");
    const result = await migrate(e.DATABASE_URL);
    if (result.applied.length) console.log(`[db] applied migrations: ${result.applied.join(", ")}`);
  } catch (err) {
    // Serving with a bad configuration or an unmigrated database would only fail later and less clearly.
    console.error(`[switchyard] cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
}
