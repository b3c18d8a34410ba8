// A /api/v1 server in its own process with the production shutdown sequence, for
// the SIGTERM test: prints its URL on stdout, then serves until signalled.
import { localPool } from "../inference/engine";
import { SHUTDOWN_PRIORITY, installShutdownHooks, onShutdown } from "../services/usage/shutdown";
import { LOG_DIR_ENV, captureOutput } from "./secret-scan";
import { WIRE_VIOLATION, startV1Server } from "./v1-server";
import { forwardWireViolations } from "./v1-wire";

if (process.env[LOG_DIR_ENV]) captureOutput(process.env[LOG_DIR_ENV]);
forwardWireViolations((v) => console.log(`${WIRE_VIOLATION} ${JSON.stringify(v)}`));

installShutdownHooks({ timeoutMs: 15_000 });
onShutdown(() => localPool().abortAll(), { name: "inference", priority: SHUTDOWN_PRIORITY.abortWork });
const server = await startV1Server({ basePath: process.env.BASE_PATH || undefined });
onShutdown(() => server.close(), { name: "http", priority: SHUTDOWN_PRIORITY.abortWork + 1 });
console.log(`LISTENING ${server.url}`);
