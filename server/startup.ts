/**
 * Server start-up (Node runtime only, called from instrumentation.ts): validates the
 * environment — a bad value stops the server with the variable's name — applies
 * pending migrations, installs the shutdown sequence (abort generations → let Next
 * drain → flush usage rows and lastUsedAt → exit), and loads the models marked
 * loadAtStartup in the background.
 */
import { db } from "./db/client";
import { migrate } from "./db/migrate";
import { env, startupEnv } from "./env";
import { installPeerStamp } from "./http/client-address";
import { installFastPath } from "./http/fast-path";
import { localPool } from "./inference/engine";
import { flushLastUsed } from "./auth/verify-api-key";
import { existingLimiter, limiter } from "./ratelimit/limiter";
import { resetReplayCache } from "./auth/replay-cache";
import { startHealthChecks } from "./services/backends/backends";
import { calibrationHousekeeping } from "./services/routing/calibration";
import { listModels } from "./services/models/models";
import { flushBodyWrites } from "./services/request-bodies/request-bodies";
import { retentionHousekeeping } from "./services/request-bodies/retention";
import { initTracingFromEnv, shutdownTracing } from "./telemetry/tracing";
import { purgeExpiredResponses } from "./services/responses/responses";
import { SHUTDOWN_PRIORITY, installShutdownHooks, onShutdown } from "./services/usage/shutdown";
import { logger } from "./log/logger";

export async function startServer(): Promise<void> {
  // before any request: IP allowlists need the socket address (server/http/client-address.ts)
  installPeerStamp();
  try {
    const e = env();
    installShutdownHooks();
    onShutdown(() => localPool().abortAll(), { name: "inference", priority: SHUTDOWN_PRIORITY.abortWork });
    onShutdown(() => flushLastUsed(), { name: "api-key last-used", priority: SHUTDOWN_PRIORITY.flushUsage });
    // settlements in flight reach Redis before the connection closes
    onShutdown(async () => existingLimiter()?.close(), { name: "ratelimit", priority: SHUTDOWN_PRIORITY.flushUsage });
    onShutdown(() => resetReplayCache(), { name: "replay cache", priority: SHUTDOWN_PRIORITY.flushUsage });
    onShutdown(() => flushBodyWrites(), { name: "request bodies", priority: SHUTDOWN_PRIORITY.flushUsage });
    if (initTracingFromEnv(e)) {
      logger("otel").info(`exporting traces (OTLP/HTTP) as ${e.OTEL_SERVICE_NAME}`);
      // after the usage flush: spans of requests that ended during shutdown are exported too
      onShutdown(() => shutdownTracing(), { name: "otel", priority: SHUTDOWN_PRIORITY.flushUsage + 1 });
    }
    if (!startupEnv().SWITCHYARD_SKIP_MIGRATE) {
      const result = await migrate(e.DATABASE_URL);
      if (result.applied.length) logger("db").info(`applied migrations: ${result.applied.join(", ")}`);
    }
    // a migrations job (Helm hook, compose one-off): the image's own start-up migration, then exit
    if (startupEnv().SWITCHYARD_MIGRATE_ONLY) {
      logger("db").info("migrations up to date; exiting (SWITCHYARD_MIGRATE_ONLY=1)");
      process.exit(0);
    }
    // /api/v1 without Next's router (production builds only: a dev server compiles routes on demand)
    if (e.NODE_ENV === "production" && e.API_FAST_PATH === "on" && installFastPath({ basePath: e.BASE_PATH, maxBodyBytes: e.API_MAX_BODY_BYTES })) {
      logger("http").info("/api/v1 served by its route handlers directly (API_FAST_PATH=on)");
    }
    // connect to Redis now rather than on the first request; the URL may hold a password, so it isn't logged
    const l = limiter();
    logger("ratelimit").info(`limits kept in ${l.store.backend === "redis" ? "Redis (REDIS_URL)" : "this process"}; fail mode ${l.failMode}`);
  } catch (err) {
    // Serving with a bad configuration or an unmigrated database would only fail later and less clearly.
    logger("switchyard").error(`cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  void preload();
  void backgroundEngineBuild();
  // Remote backends: a backend marked unhealthy by a failed request is retried by these checks;
  // the same round purges expired stored responses (Responses API `store`) and, when due,
  // usage rows and bodies past their retention, and recalibrates difficulty thresholds when due.
  startHealthChecks(db(), undefined, [purgeExpiredResponses, retentionHousekeeping, calibrationHousekeeping]);
}

/** Fast out of the box: compile the native llama.cpp in the background when it is missing (auto-build.ts). */
async function backgroundEngineBuild() {
  try {
    const { maybeStartBackgroundBuild } = await import("./inference/auto-build");
    const d = maybeStartBackgroundBuild(process.cwd(), (s) =>
      s.state === "built"
        ? logger("inference").info("background native llama.cpp build finished: it is used from the next start of the server")
        : logger("inference").error(`background native llama.cpp build failed (exit ${s.exitCode}); see ${s.log}`),
    );
    if (d.start) logger("inference").info("compiling a native llama.cpp for this CPU in the background (nice 19); serving on the prebuilt one meanwhile");
  } catch (e) {
    logger("inference").error(`background engine build not started: ${(e as Error).message}`);
  }
}

async function preload() {
  const { engineFor } = await import("./inference/engine");
  for (const m of await listModels(db())) {
    if (!m.enabled || !m.loadAtStartup) continue;
    try {
      await (await engineFor(m)).load(m.name);
      logger("inference").info(`loaded ${m.name}`);
    } catch (e) {
      logger("inference").error(`${m.name}: ${(e as Error).message}`);
    }
  }
}
