/**
 * What a CLI command is — a spec (words, flags, help; parsed by args.ts) and a
 * handler over the services — and the table they are collected into. No commands
 * live here: each command group (server/cli/commands/*.ts) imports these types, and
 * commands/index.ts lists the groups, so no group file imports another and nothing
 * imports back into a group.
 */
import type { Db } from "../db/client";
import type { CommandSpec, Flags } from "./args";

/** What a handler may use: the services' database and the process's input. */
export interface Ctx {
  /** the database, connected on first use */
  db(): Db;
  /** standard input as text (for --password-stdin) */
  readStdin(): Promise<string>;
  /** the environment variables (for --password-env) */
  env: Record<string, string | undefined>;
}

/** Both renderings of a result; run.ts prints the one asked for (--json). */
export interface Output {
  text: string;
  json: unknown;
}

export interface Command extends CommandSpec {
  run(ctx: Ctx, flags: Flags): Promise<Output>;
}

/**
 * The command table, groups in the order given: help lists commands in this order.
 * Two commands with the same words would make one unreachable, so that fails at load.
 */
export function commandTable(...groups: readonly (readonly Command[])[]): readonly Command[] {
  const all = groups.flat();
  const seen = new Set<string>();
  for (const c of all) {
    const name = c.path.join(" ");
    if (seen.has(name)) throw new Error(`CLI: two commands named "${name}"`);
    seen.add(name);
  }
  return all;
}
