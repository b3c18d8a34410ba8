// Runs in every integration test worker before the test file: points the env module at the run's database.
import { inject } from "vitest";
import { LOG_DIR_ENV, TEST_AUTH_SECRET, captureOutput } from "./secret-scan";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.AUTH_SECRET ??= TEST_AUTH_SECRET;
// the leak scan reads this output at the end of the run; replicas spawned by tests inherit the variable
process.env[LOG_DIR_ENV] = inject("logDir");
captureOutput(inject("logDir"));
process.env.PASSWORD_HASH_COST ??= "4";
// the logger (server/log/logger.ts): warnings and errors, as the suite printed before it logged through pino
process.env.LOG_LEVEL ??= "warn";
(process.env as Record<string, string>).NODE_ENV = "test";
