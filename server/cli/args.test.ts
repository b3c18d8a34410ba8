import { describe, expect, it } from "vitest";
import { type CommandSpec, UsageError, helpText, parseCommandLine, usageLine } from "./args";

const commands: CommandSpec[] = [
  { path: ["migrate"], summary: "Apply migrations", flags: {} },
  {
    path: ["tenant", "create"],
    summary: "Create a tenant",
    flags: {
      slug: { type: "string", value: "SLUG", required: true, description: "Slug" },
      name: { type: "string", value: "NAME", required: true, description: "Name" },
    },
  },
  { path: ["tenant", "list"], summary: "List tenants", flags: {} },
  {
    path: ["user", "create"],
    summary: "Create a user",
    flags: {
      email: { type: "string", value: "EMAIL", required: true, description: "Email" },
      password: { type: "string", value: "PASSWORD", description: "Password" },
      "password-env": { type: "string", value: "VAR", description: "From env" },
      "password-stdin": { type: "boolean", description: "From stdin" },
      name: { type: "string", description: "Name" },
      "platform-admin": { type: "boolean", description: "Admin" },
    },
    oneOf: [{ flags: ["password", "password-env", "password-stdin"], required: true }],
  },
];

const parse = (...argv: string[]) => parseCommandLine(argv, commands);
const usageError = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(" ")}`);
};

describe("parseCommandLine", () => {
  it("resolves one- and two-word commands with their flags", () => {
    expect(parse("migrate")).toMatchObject({ kind: "run", command: { path: ["migrate"] }, flags: {}, json: false });
    expect(parse("tenant", "create", "--slug", "acme", "--name", "Acme Inc")).toMatchObject({
      kind: "run",
      command: { path: ["tenant", "create"] },
      flags: { slug: "acme", name: "Acme Inc" },
    });
  });

  it("accepts --flag=value, empty values, and values starting with '-' only in that form", () => {
    expect(parse("tenant", "create", "--slug=acme", "--name=")).toMatchObject({ flags: { slug: "acme", name: "" } });
    expect(parse("user", "create", "--email", "a@b.c", "--password=-starts-with-dash")).toMatchObject({
      flags: { password: "-starts-with-dash" },
    });
    expect(parse("user", "create", "--email", "a@b.c", "--password=x=y")).toMatchObject({ flags: { password: "x=y" } });
    expect(usageError("user", "create", "--email", "a@b.c", "--password", "-abc")).toBe(
      '--password needs a value (to pass one that starts with "-", write --password=-abc)',
    );
    expect(parse("tenant", "create", "--slug", "-", "--name", "n")).toMatchObject({ flags: { slug: "-" } });
  });

  it("takes --json and --help anywhere", () => {
    expect(parse("--json", "tenant", "list")).toMatchObject({ kind: "run", json: true });
    expect(parse("tenant", "create", "--slug", "s", "--json", "--name", "n")).toMatchObject({
      json: true,
      flags: { slug: "s", name: "n" },
    });
    expect(parse("tenant", "create", "--help")).toMatchObject({
      kind: "help",
      topic: { kind: "command", command: { path: ["tenant", "create"] } },
      usage: false,
    });
    expect(parse("-h", "tenant")).toMatchObject({ kind: "help", topic: { kind: "group", group: "tenant" } });
    expect(parse("--help")).toMatchObject({ kind: "help", topic: { kind: "all" }, usage: false });
  });

  it("help [command] and an empty command line", () => {
    expect(parse("help")).toMatchObject({ kind: "help", topic: { kind: "all" }, usage: false });
    expect(parse("help", "tenant", "create")).toMatchObject({
      kind: "help",
      topic: { kind: "command", command: { path: ["tenant", "create"] } },
    });
    expect(parse("help", "user")).toMatchObject({ kind: "help", topic: { kind: "group", group: "user" } });
    expect(parse()).toMatchObject({ kind: "help", topic: { kind: "all" }, usage: true });
    expect(usageError("help", "nope")).toMatch(/^unknown command "nope"/);
  });

  it("boolean flags are switches", () => {
    expect(parse("user", "create", "--email", "a@b.c", "--password-stdin", "--platform-admin")).toMatchObject({
      flags: { "password-stdin": true, "platform-admin": true },
    });
    expect(usageError("user", "create", "--email", "a@b.c", "--password-stdin", "--platform-admin=yes")).toBe(
      "--platform-admin does not take a value",
    );
    expect(usageError("tenant", "list", "--json=1")).toBe("--json does not take a value");
  });

  it("reports unknown commands and subcommands", () => {
    expect(usageError("frob")).toBe('unknown command "frob" (run `npm run cli -- help` for the list)');
    expect(usageError("tenant", "frob")).toBe('unknown command "tenant frob" (tenant commands: create, list)');
    expect(usageError("tenant")).toBe('"tenant" needs a subcommand: create, list');
    expect(usageError("--slug", "x")).toMatch(/^expected a command before --slug/);
  });

  it("reports unknown flags, stray arguments, repeats and missing values", () => {
    expect(usageError("tenant", "list", "--slug", "x")).toMatch(/^unknown flag --slug for `tenant list`/);
    expect(usageError("tenant", "list", "-x")).toMatch(/^unknown flag -x /);
    expect(usageError("tenant", "list", "extra")).toBe('unexpected argument "extra" for `tenant list`');
    expect(usageError("tenant", "create", "--slug", "a", "stray", "--name", "n")).toBe(
      'unexpected argument "stray" for `tenant create`',
    );
    expect(usageError("tenant", "create", "--slug", "a", "--slug", "b", "--name", "n")).toBe("--slug given more than once");
    expect(usageError("tenant", "create", "--name", "n", "--slug")).toBe("--slug needs a value");
    expect(usageError("tenant", "create", "--name", "--slug", "a")).toBe("--name needs a value");
    expect(usageError("tenant", "create", "--slug", "a", "--toString", "x")).toMatch(/^unknown flag --toString/);
  });

  it("requires required flags and exactly one of a required group", () => {
    expect(usageError("tenant", "create", "--slug", "a")).toBe(
      "missing --name (usage: npm run cli -- tenant create --slug SLUG --name NAME [--json])",
    );
    expect(usageError("user", "create", "--email", "a@b.c")).toBe(
      "missing --password (or --password-env / --password-stdin)",
    );
    expect(usageError("user", "create", "--email", "a@b.c", "--password", "p", "--password-stdin")).toBe(
      "give only one of --password, --password-env, --password-stdin",
    );
  });
});

describe("help", () => {
  it("renders usage lines with required, optional and alternative flags", () => {
    expect(usageLine(commands[3]!)).toBe(
      "npm run cli -- user create --email EMAIL (--password PASSWORD | --password-env VAR | --password-stdin) [--name NAME] [--platform-admin] [--json]",
    );
  });

  it("lists every command, a group's commands, or one command's flags", () => {
    const all = helpText(commands, { kind: "all" });
    for (const c of ["migrate", "tenant create", "tenant list", "user create"]) expect(all).toContain(`  ${c} `);
    const group = helpText(commands, { kind: "group", group: "tenant" });
    expect(group).toContain("npm run cli -- tenant <create|list> [flags]");
    expect(group).not.toContain("user create");
    const one = helpText(commands, { kind: "command", command: commands[1]! });
    expect(one).toMatch(/--slug SLUG\s+Slug \(required\)/);
    expect(one).toContain("--json");
  });
});
