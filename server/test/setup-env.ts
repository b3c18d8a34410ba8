// Runs in every integration test worker before the test file: points the env module at the run's database.
import { inject } from "vitest";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.AUTH_SECRET ??= "integration-test-secret-0123456789abcdef";
process.env.PASSWORD_HASH_COST ??= "4";
(process.env as Record<string, string>).NODE_ENV = "test";
