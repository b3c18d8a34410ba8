/**
 * Runs one CLI invocation: parse → (help) → load .env → validate env → command →
 * print → disconnect. Every failure becomes one `error:` line on stderr and an exit
 * code (2 for usage errors, 1 otherwise); stack traces only with DEBUG=1.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Db } from "../db/client";
import { env, processVariables } from "../env";
import { type Parsed, helpText, parseCommandLine } from "./args";
import { commands } from "./commands";
import { rewritePositionals } from "./commands/models";
import type { Command } from "./registry";
import { CliError, describeError, errorLines, toJson } from "./format";

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  cwd: string;
  env: Record<string, string | undefined>;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text + "\n"),
  stderr: (text) => process.stderr.write(text + "\n"),
  cwd: process.cwd(),
  env: processVariables(),
  async readStdin() {
    if (process.stdin.isTTY) {
      throw new CliError('--password-stdin reads a piped password, e.g. printf %s "$PW" | npm run cli -- …', 2);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
};

/** Loads ./.env into the environment; variables already set win (Node's rule). */
function loadDotEnv(cwd: string) {
  const file = path.join(cwd, ".env");
  if (!existsSync(file)) return;
  try {
    process.loadEnvFile(file);
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  let parsed: Parsed<Command>;
  try {
    parsed = parseCommandLine(rewritePositionals([...argv]), commands);
  } catch (e) {
    return fail(io, e, []);
  }
  if (parsed.kind === "help") {
    const text = helpText(commands, parsed.topic);
    if (parsed.usage) {
      io.stderr(text);
      return 2;
    }
    io.stdout(text);
    return 0;
  }

  let connected: Db | undefined;
  try {
    loadDotEnv(io.cwd);
    env(); // validates every variable; a bad one fails here with its name
    // imported late: loading the Prisma clients is most of the start-up time that help and usage errors don't need
    const { db } = await import("../db/client");
    const out = await parsed.command.run(
      { db: () => (connected ??= db()), readStdin: () => io.readStdin(), env: io.env },
      parsed.flags,
    );
    io.stdout(parsed.json ? toJson(out.json) : out.text);
    return 0;
  } catch (e) {
    return fail(io, e, Object.keys(parsed.flags)); // only flags given: a --password-env value is not "--password"
  } finally {
    await connected?.$disconnect().catch(() => {});
  }
}

function fail(io: Io, e: unknown, flagNames: readonly string[]): number {
  const failure = describeError(e, flagNames);
  io.stderr(errorLines(failure));
  if (io.env.DEBUG === "1" && e instanceof Error && e.stack) io.stderr(e.stack);
  return failure.exitCode;
}
