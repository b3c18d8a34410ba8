// Runs in every integration test worker before the test file: points the env module at the run's database.
import { afterEach, inject } from "vitest";
import { LOG_DIR_ENV, TEST_AUTH_SECRET, captureOutput } from "./secret-scan";
import { takeWireViolations } from "./v1-wire";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.AUTH_SECRET ??= TEST_AUTH_SECRET;
// the leak scan reads this output at the end of the run; replicas spawned by tests inherit the variable
process.env[LOG_DIR_ENV] = inject("logDir");
captureOutput(inject("logDir"));
process.env.PASSWORD_HASH_COST ??= "4";
// the logger (server/log/logger.ts): warnings and errors, as the suite printed before it logged through pino
process.env.LOG_LEVEL ??= "warn";
(process.env as Record<string, string>).NODE_ENV = "test";

// an answer of the /v1 test server that is not exactly of its response schema fails the test that caused it
afterEach(() => {
  const wrong = takeWireViolations();
  if (wrong.length) throw new Error(`/api/v1 answers that do not match their response schema (server/test/v1-wire.ts):\n${wrong.join("\n")}`);
});
