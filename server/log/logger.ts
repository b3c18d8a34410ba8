/**
 * The structured logger (pino): JSON lines in production, one pretty line each in development
 * and tests, level from LOG_LEVEL (server/env.ts). `logger("component")` gives a child logger
 * bound to a component; /v1 request lines add `requestId` and `tenant` (services/gateway/pipeline.ts).
 *
 * Never pass a key, a secret, a request body or an Authorization header in a log field:
 * the integration run's leak check (server/test/secret-scan.ts) scans every line, and the
 * `redact` paths below are only a second line of defence.
 */
import pino, { type DestinationStream, type Logger } from "pino";
import { prettyFactory } from "pino-pretty";
import { EnvError, logEnv } from "../env";
import { processSlot } from "../runtime/registry";

export type { Logger };

/** Header and field names whose values are replaced by "[redacted]", at the top level and one or two levels down. */
const SECRET_FIELDS = ["authorization", "cookie", "set-cookie", "x-api-key", "apiKey", "secret", "signingSecret", "password", "token", "credential"];
export const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(f) ? `.${f}` : `["${f}"]`;
  return [key.startsWith(".") ? f : key, `*${key}`, `*.headers${key}`];
});

interface LoggerState {
  root: Logger;
  children: Map<string, Logger>;
}

/** pino's numeric level of `warn`: warn and error go to stderr, as console.warn/error did. */
const WARN = 40;

/**
 * A synchronous destination over process.stdout/stderr (not pino's own fd writer, not a worker
 * transport: Next's bundles break transports): output goes wherever the host process sends its
 * streams — the test harness tees them into the leak check's capture files. pino sets
 * `lastLevel` before each write (the metadata symbol asks for it).
 */
function sink(format: ((line: string) => string) | null): DestinationStream {
  return {
    [Symbol.for("pino.metadata")]: true,
    lastLevel: 0,
    write(line: string) {
      const out = (this as unknown as { lastLevel: number }).lastLevel >= WARN ? process.stderr : process.stdout;
      out.write(format ? format(line) : line);
    },
  } as DestinationStream;
}

function settings(): ReturnType<typeof logEnv> {
  try {
    return logEnv();
  } catch (e) {
    // a bad LOG_LEVEL must not silence the error that names it (startup logs env()'s EnvError)
    if (e instanceof EnvError) return { LOG_LEVEL: "info", NODE_ENV: "production" };
    throw e;
  }
}

function create(): LoggerState {
  const { LOG_LEVEL, NODE_ENV } = settings();
  const format =
    NODE_ENV === "production"
      ? null
      : prettyFactory({
          colorize: process.stdout.isTTY === true,
          singleLine: true,
          translateTime: "SYS:HH:MM:ss.l",
          ignore: "pid,hostname,component",
          messageFormat: "{if component}[{component}] {end}{msg}",
        });
  const root = pino(
    { level: LOG_LEVEL, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    sink(format),
  );
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
