/**
 * Entry point of `npm run cli -- <command>`: administration from a shell (migrate,
 * first admin, tenants, users, memberships, API keys). Commands live in ./commands/ (one file per group); this
 * file only runs one and sets the exit code.
 */
import { run } from "./run";

const code = await run(process.argv.slice(2));
process.exitCode = code;
// The database client is disconnected by run(); should anything else hold the event
// loop open, don't let a finished command hang a script.
setTimeout(() => process.exit(code), 3000).unref();
