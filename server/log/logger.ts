/**
 * The structured logger (pino): JSON lines in production, pretty in development,
 * level from LOG_LEVEL. `logger("component")` gives a child logger bound to a component;
 * /v1 request lines add `requestId` and `tenant` (services/gateway/pipeline.ts).
 *
 * Never pass a key, a secret, a request body or an Authorization header in a log field:
 * the integration run's leak check (server/test/secret-scan.ts) scans every line.
 */
import pino, { type Logger } from "pino";
import { processSlot } from "../runtime/registry";

export type { Logger };

type Level = "debug" | "info" | "warn" | "error" | "silent";

function levelOf(raw: string | undefined): Level {
  return raw === "debug" || raw === "info" || raw === "warn" || raw === "error" || raw === "silent" ? raw : "info";
}

interface LoggerState {
  root: Logger;
  children: Map<string, Logger>;
}

function create(): LoggerState {
  // process.stdout (not pino's own fd writer) so output goes where the host process sends it:
  // the test harness tees process.stdout into the leak check's capture files.
  const root = pino({ level: levelOf(process.env.LOG_LEVEL), base: { pid: process.pid } }, process.stdout);
  return { root, children: new Map() };
}

const state = processSlot("logger", create);

/** The process's logger, or a child bound to `component` (cached: cheap on hot paths). */
export function logger(component?: string): Logger {
  const s = state.get();
  if (!component) return s.root;
  let child = s.children.get(component);
  if (!child) {
    child = s.root.child({ component });
    s.children.set(component, child);
  }
  return child;
}
