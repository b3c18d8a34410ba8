/**
 * How the CLI prints things: aligned tables, JSON, and the one-line `error:` message
 * (with the exit code) for every kind of failure. Pure functions, unit-tested.
 */
import { z } from "zod";
import { EnvError } from "../env";
import { isAppError } from "../errors";
import { UsageError } from "./args";

/** A failure the CLI reports as-is, e.g. an unreadable password source. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const NOT_MIGRATED = "database is not migrated: run `npm run cli -- migrate`";

/** Aligned columns with a header; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `2026-01-02 10:11` (UTC): enough to tell rows apart, short enough for a table. */
export function shortDate(d: Date | null | undefined): string {
  return d ? d.toISOString().slice(0, 16).replace("T", " ") : "-";
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

function prismaCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return typeof name === "string" && name.startsWith("PrismaClient") && typeof code === "string" ? code : undefined;
}

/** Prisma messages open with a code frame of the calling line; the last line is the reason. */
function lastLine(message: string): string {
  const lines = message.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? message;
}

export interface Failure {
  /** the lines to print after `error: ` (more than one only for a bad environment: one per variable) */
  message: string;
  exitCode: number;
  /** not one of the failures the CLI expects: a stack trace helps (printed with DEBUG=1) */
  unexpected: boolean;
}

/**
 * Turns anything thrown while running a command into what the user sees.
 * `flagNames` maps zod issue paths (the services' input fields) to the command's flags.
 */
export function describeError(e: unknown, flagNames: readonly string[] = []): Failure {
  if (e instanceof UsageError) return { message: e.message, exitCode: 2, unexpected: false };
  if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode, unexpected: false };
  if (e instanceof EnvError) {
    return { message: e.message.replace(/^Invalid environment:/, "invalid environment:"), exitCode: 1, unexpected: false };
  }
  if (isAppError(e)) return { message: e.message, exitCode: 1, unexpected: false };
  if (e instanceof z.ZodError) {
    const message = e.issues
      .map((i) => {
        const field = i.path.map(String).join(".");
        const label = flagNames.includes(field) ? `--${field}` : field;
        return label ? `${label}: ${i.message}` : i.message;
      })
      .join("; ");
    return { message, exitCode: 1, unexpected: false };
  }
  const code = prismaCode(e);
  if (code === "P2021" || code === "P2022") return { message: NOT_MIGRATED, exitCode: 1, unexpected: false };
  if (code && /^P10\d\d$/.test(code)) {
    return { message: `cannot use the database: ${lastLine((e as Error).message)}`, exitCode: 1, unexpected: false };
  }
  if (code) return { message: lastLine((e as Error).message), exitCode: 1, unexpected: true };
  const message = e instanceof Error ? e.message : String(e);
  return { message: message.split("\n").map((l) => l.trim()).filter(Boolean).join(" ") || "unknown error", exitCode: 1, unexpected: true };
}

/** `error: …` lines for stderr. */
export function errorLines(f: Failure): string {
  const [first, ...more] = f.message.split("\n");
  return [`error: ${first}`, ...more].join("\n");
}
