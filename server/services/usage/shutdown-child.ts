/**
 * A stand-in server process for shutdown.int.test.ts (run with `node --import tsx`):
 * installs the shutdown hooks, records rows that stay buffered (long interval, big
 * batch), prints "ready", and waits for a signal.
 *
 *   node --import tsx shutdown-child.ts <tenantId> <rows> <mode>
 *
 * modes: plain   — nothing else listens for SIGTERM (tsx scripts, NEXT_MANUAL_SIG_HANDLE)
 *        host    — a Next-like SIGTERM listener registered first: it "drains" (more
 *                  requests finish and record their rows meanwhile), then calls
 *                  process.exit(143), as `next start` does
 *        natural — no signal: the script just ends (beforeExit must flush)
 *        stuck   — a shutdown hook that never settles (the hard timeout must exit)
 * Hooks print "hook <name> buffered=<n>" so the test can check their order.
 */
import { newId } from "../../lib/ids";
import { SHUTDOWN_PRIORITY, installShutdownHooks, onShutdown } from "./shutdown";
import type { UsageRecord } from "./types";
import { configureUsageWriter, usageWriter } from "./usage-writer";

const [tenantId = "", rowsArg = "0", mode = "plain"] = process.argv.slice(2);

function record(endpoint: string) {
  const r: UsageRecord = {
    id: newId("req"),
    tenantId,
    apiKeyId: "key_child",
    userId: null,
    endpoint,
    modelRequested: "tiny",
    modelUsed: "tiny",
    backendId: null,
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    errorMessage: null,
    stream: true,
    promptTokens: 3,
    completionTokens: 4,
    ttftMs: 5,
    latencyMs: 6,
    createdAt: new Date(),
  };
  usageWriter().record(r);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const hook = (name: string) => () => say(`hook ${name} buffered=${usageWriter().stats().buffered}`);

if (mode === "host") {
  process.on("SIGTERM", () => {
    say("host draining");
    setTimeout(() => {
      for (let i = 0; i < 10; i++) record("late");
      say("host exit 143");
      process.exit(143);
    }, 200);
  });
}

configureUsageWriter({ flushIntervalMs: 600_000, maxBatch: 5_000 });
installShutdownHooks(mode === "stuck" ? { timeoutMs: 1_000 } : {});
onShutdown(hook("abort"), { name: "abort", priority: SHUTDOWN_PRIORITY.abortWork });
onShutdown(hook("after-flush"), { name: "after-flush", priority: SHUTDOWN_PRIORITY.closeConnections });
if (mode === "stuck") onShutdown(() => new Promise(() => {}), { name: "never-settles", priority: SHUTDOWN_PRIORITY.abortWork });

for (let i = 0; i < Number(rowsArg); i++) record("chat.completions");
say(`ready buffered=${usageWriter().stats().buffered}`);
// a server stays up until it is told to stop; "natural" just ends
if (mode !== "natural") setInterval(() => {}, 60_000);
