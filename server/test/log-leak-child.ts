// For server/log/logger.int.test.ts: a process whose output is captured like a test worker's
// (captureOutput into argv[2]) logs through the real logger — a key in a message, which the leak
// scan must find, and keys in redacted fields, which must not reach the output at all.
import { logger } from "../log/logger";
import { captureOutput } from "./secret-scan";

const [dir, key] = process.argv.slice(2) as [string, string];
captureOutput(dir);
const log = logger("leak-test").child({ requestId: "req_leak", tenant: "acme" });
log.info({ headers: { authorization: `Bearer ${key}`, "x-api-key": key, cookie: `k=${key}` }, apiKey: key }, "redacted fields");
log.warn(`a careless message with ${key}`);
