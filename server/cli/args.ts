/**
 * Command-line parsing and help text for the CLI — pure functions over a table of
 * command specs (server/cli/commands/), no I/O, so they are unit-tested directly.
 *
 * Grammar: `[--json] <command words…> [--flag value | --flag=value | --switch]…`.
 * `--json` and `--help`/`-h` are global and may appear anywhere. A string flag's
 * value may not start with "-" unless written `--flag=-value` (so a forgotten value
 * is reported instead of swallowing the next flag).
 */

export const PROG = "npm run cli --";

export interface FlagSpec {
  type: "string" | "boolean";
  /** placeholder shown in usage, e.g. "EMAIL" (string flags) */
  value?: string;
  required?: boolean;
  description: string;
}

export interface CommandSpec {
  /** the words that name the command, e.g. ["tenant", "create"] */
  path: readonly string[];
  summary: string;
  flags: Readonly<Record<string, FlagSpec>>;
  /** flags of which at most one may be given (exactly one when `required`) */
  oneOf?: readonly { flags: readonly string[]; required: boolean }[];
}

export type Flags = Record<string, string | boolean | undefined>;

/** A string flag's value; undefined when it was not given. */
export const str = (flags: Flags, name: string): string | undefined => {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
};
/** A string flag the parser already required. */
export const req = (flags: Flags, name: string): string => str(flags, name)!;

export type HelpTopic =
  | { kind: "all" }
  | { kind: "group"; group: string }
  | { kind: "command"; command: CommandSpec };

export type Parsed<C extends CommandSpec> =
  | { kind: "help"; topic: HelpTopic; /** help was not asked for: no command given */ usage: boolean }
  | { kind: "run"; command: C; flags: Flags; json: boolean };

/** Bad command line: reported as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  json: { type: "boolean", description: "Print machine-readable JSON instead of text" },
  help: { type: "boolean", description: "Show help (also -h)" },
};

const commandName = (c: CommandSpec) => c.path.join(" ");
const groupsOf = (commands: readonly CommandSpec[]) =>
  new Set(commands.filter((c) => c.path.length > 1).map((c) => c.path[0]!));
const subcommands = (commands: readonly CommandSpec[], group: string) =>
  commands.filter((c) => c.path.length > 1 && c.path[0] === group).map((c) => c.path.slice(1).join(" "));

/**
 * Finds the command named by `words`; throws UsageError for unknown words.
 * Returns a group topic when only a group name was given.
 */
function resolve<C extends CommandSpec>(
  commands: readonly C[],
  words: readonly string[],
): { command: C; extra: string[] } | { group: string } {
  const first = words[0]!;
  const single = commands.find((c) => c.path.length === 1 && c.path[0] === first);
  if (single) return { command: single, extra: words.slice(1) };
  if (!groupsOf(commands).has(first)) {
    throw new UsageError(`unknown command "${first}" (run \`${PROG} help\` for the list)`);
  }
  const second = words[1];
  if (second === undefined) return { group: first };
  const command = commands.find((c) => c.path.length === 2 && c.path[0] === first && c.path[1] === second);
  if (!command) {
    throw new UsageError(
      `unknown command "${first} ${second}" (${first} commands: ${subcommands(commands, first).join(", ")})`,
    );
  }
  return { command, extra: words.slice(2) };
}

export function parseCommandLine<C extends CommandSpec>(argv: readonly string[], commands: readonly C[]): Parsed<C> {
  let json = false;
  let help = false;
  const tokens: string[] = [];
  for (const t of argv) {
    if (t === "--json") json = true;
    else if (t === "--help" || t === "-h") help = true;
    else if (t.startsWith("--json=") || t.startsWith("--help=")) {
      throw new UsageError(`${t.slice(0, t.indexOf("="))} does not take a value`);
    } else tokens.push(t);
  }

  const words: string[] = [];
  while (words.length < tokens.length && !tokens[words.length]!.startsWith("-")) words.push(tokens[words.length]!);
  const rest = tokens.slice(words.length);

  if (words.length === 0) {
    if (rest.length && !help) throw new UsageError(`expected a command before ${rest[0]} (run \`${PROG} help\`)`);
    return { kind: "help", topic: { kind: "all" }, usage: !help };
  }

  if (words[0] === "help") {
    if (words.length === 1) return { kind: "help", topic: { kind: "all" }, usage: false };
    const r = resolve(commands, words.slice(1));
    if ("group" in r) return { kind: "help", topic: { kind: "group", group: r.group }, usage: false };
    if (r.extra.length) throw new UsageError(`unexpected argument "${r.extra[0]}"`);
    return { kind: "help", topic: { kind: "command", command: r.command }, usage: false };
  }

  const r = resolve(commands, words);
  if ("group" in r) {
    if (help) return { kind: "help", topic: { kind: "group", group: r.group }, usage: false };
    throw new UsageError(`"${r.group}" needs a subcommand: ${subcommands(commands, r.group).join(", ")}`);
  }
  const { command } = r;
  if (help) return { kind: "help", topic: { kind: "command", command }, usage: false };
  if (r.extra.length) throw new UsageError(`unexpected argument "${r.extra[0]}" for \`${commandName(command)}\``);

  return { kind: "run", command, flags: parseFlags(command, rest), json };
}

function parseFlags(command: CommandSpec, tokens: readonly string[]): Flags {
  const flags: Flags = {};
  const see = `(see \`${PROG} ${commandName(command)} --help\`)`;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!t.startsWith("--") || t === "--") {
      throw new UsageError(
        t.startsWith("-") ? `unknown flag ${t} ${see}` : `unexpected argument "${t}" for \`${commandName(command)}\``,
      );
    }
    const eq = t.indexOf("=");
    const name = eq === -1 ? t.slice(2) : t.slice(2, eq);
    const inline = eq === -1 ? undefined : t.slice(eq + 1);
    const spec = Object.hasOwn(command.flags, name) ? command.flags[name] : undefined;
    if (!spec) throw new UsageError(`unknown flag --${name} for \`${commandName(command)}\` ${see}`);
    if (flags[name] !== undefined) throw new UsageError(`--${name} given more than once`);
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} does not take a value`);
      flags[name] = true;
      continue;
    }
    if (inline !== undefined) {
      flags[name] = inline;
      continue;
    }
    const next = tokens[i + 1];
    if (next === undefined || /^-./.test(next)) {
      const isFlag = next !== undefined && /^--[^=]+/.test(next) && Object.hasOwn(command.flags, next.slice(2).split("=")[0]!);
      throw new UsageError(
        next === undefined || isFlag
          ? `--${name} needs a value`
          : `--${name} needs a value (to pass one that starts with "-", write --${name}=${next})`,
      );
    }
    flags[name] = next;
    i++;
  }

  for (const [name, spec] of Object.entries(command.flags)) {
    if (spec.required && flags[name] === undefined) {
      throw new UsageError(`missing --${name} (usage: ${usageLine(command)})`);
    }
  }
  for (const group of command.oneOf ?? []) {
    const given = group.flags.filter((f) => flags[f] !== undefined);
    const names = group.flags.map((f) => `--${f}`);
    if (given.length > 1) throw new UsageError(`give only one of ${names.join(", ")}`);
    if (given.length === 0 && group.required) {
      throw new UsageError(`missing ${names[0]} (or ${names.slice(1).join(" / ")})`);
    }
  }
  return flags;
}

function flagUsage(name: string, spec: FlagSpec): string {
  return spec.type === "boolean" ? `--${name}` : `--${name} ${spec.value ?? name.toUpperCase()}`;
}

export function usageLine(command: CommandSpec): string {
  const grouped = new Set((command.oneOf ?? []).flatMap((g) => g.flags));
  const parts = [PROG, ...command.path];
  for (const [name, spec] of Object.entries(command.flags)) {
    if (grouped.has(name)) {
      const group = command.oneOf!.find((g) => g.flags[0] === name);
      if (!group) continue; // rendered with the group's first flag
      const alts = group.flags.map((f) => flagUsage(f, command.flags[f]!)).join(" | ");
      parts.push(group.required ? `(${alts})` : `[${alts}]`);
    } else {
      parts.push(spec.required ? flagUsage(name, spec) : `[${flagUsage(name, spec)}]`);
    }
  }
  parts.push("[--json]");
  return parts.join(" ");
}

function columns(rows: readonly [string, string][], indent = "  "): string {
  const width = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(width)}   ${b}`).join("\n");
}

export function helpText(commands: readonly CommandSpec[], topic: HelpTopic): string {
  const globals = columns([
    ["--json", GLOBAL_FLAGS.json!.description],
    ["-h, --help", "Show help for a command"],
  ]);
  if (topic.kind === "all") {
    return [
      "Switchyard command line",
      "",
      `Usage: ${PROG} <command> [flags]`,
      "",
      "Commands:",
      columns([["help [command]", "Show this help, or a command's flags"], ...commands.map((c) => [commandName(c), c.summary] as [string, string])]),
      "",
      "Global flags:",
      globals,
      "",
      `Reads .env from the current directory. Run \`${PROG} <command> --help\` for a command's flags.`,
    ].join("\n");
  }
  if (topic.kind === "group") {
    const list = commands.filter((c) => c.path.length > 1 && c.path[0] === topic.group);
    return [
      `Usage: ${PROG} ${topic.group} <${list.map((c) => c.path[1]).join("|")}> [flags]`,
      "",
      "Commands:",
      columns(list.map((c) => [commandName(c), c.summary])),
      "",
      `Run \`${PROG} ${topic.group} <command> --help\` for a command's flags.`,
    ].join("\n");
  }
  const c = topic.command;
  const flagRows = Object.entries(c.flags).map(
    ([name, spec]) => [flagUsage(name, spec), spec.description + (spec.required ? " (required)" : "")] as [string, string],
  );
  return [
    `Usage: ${usageLine(c)}`,
    "",
    c.summary,
    ...(flagRows.length ? ["", "Flags:", columns(flagRows)] : []),
    "",
    "Global flags:",
    globals,
  ].join("\n");
}
