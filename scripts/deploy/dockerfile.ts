/**
 * A small Dockerfile reader for the subset our Dockerfile uses, so tests can run what
 * the image would run without a Docker engine (scripts/test-image.ts) and notice when
 * the Dockerfile drifts. Supported: comments, `\` line continuations, global and stage
 * ARGs with defaults, FROM … AS name, and per stage WORKDIR, ENV (one `KEY=value` per
 * line, `${ARG}`/`$ARG` substitution), USER, COPY [--from=…] [--chown=…] src… dst, EXPOSE,
 * VOLUME, ENTRYPOINT / CMD / HEALTHCHECK CMD in JSON (exec) form. Anything else is kept
 * as a raw instruction; a form we do not understand throws rather than guessing.
 */

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  dest: string;
}

export interface Stage {
  name?: string;
  base: string;
  instructions: Instruction[];
  args: Record<string, string>;
  env: Record<string, string>;
  workdir: string;
  user?: string;
  copies: Copy[];
  expose: string[];
  volumes: string[];
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: { options: Record<string, string>; cmd: string[] };
}

export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  let buf = "";
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (buf === "" && (trimmed === "" || trimmed.startsWith("#"))) continue;
    // comment lines inside a continued instruction are dropped, as Docker does
    if (buf !== "" && trimmed.startsWith("#")) continue;
    if (buf === "") start = i + 1;
    if (trimmed.endsWith("\\")) {
      buf += trimmed.slice(0, -1) + " ";
      continue;
    }
    buf += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buf)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = "";
  }
  if (buf) throw new Error("Dockerfile ends inside a continued line");
  return out;
}

function substitute(value: string, vars: Record<string, string>, line: number): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (!(name in vars)) throw new Error(`line ${line}: $${name} is not a declared ARG or ENV`);
    return vars[name]!;
  });
}

function unquote(v: string): string {
  return /^".*"$/.test(v) || /^'.*'$/.test(v) ? v.slice(1, -1) : v;
}

function jsonArray(args: string, line: number, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`line ${line}: ${what} must be in exec (JSON array) form`);
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) throw new Error(`line ${line}: ${what} must be a JSON array of strings`);
  return parsed;
}

/** Parses stages; `buildArgs` are the `--build-arg` values (override ARG defaults). */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): Stage[] {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  let cur: Stage | undefined;
  for (const ins of instructions(text)) {
    const vars = cur ? { ...cur.args, ...cur.env } : globalArgs;
    switch (ins.op) {
      case "ARG": {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args);
        if (!m) throw new Error(`line ${ins.line}: cannot read ARG ${ins.args}`);
        const name = m[1]!;
        const value = buildArgs[name] ?? (m[2] !== undefined ? unquote(m[2]) : cur ? globalArgs[name] : undefined) ?? "";
        if (cur) cur.args[name] = value;
        else globalArgs[name] = value;
        break;
      }
      case "FROM": {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
        if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
        cur = { name: m[2], base: substitute(m[1]!, globalArgs, ins.line), instructions: [], args: {}, env: {}, workdir: "/", copies: [], expose: [], volumes: [] };
        stages.push(cur);
        break;
      }
      default: {
        if (!cur) throw new Error(`line ${ins.line}: ${ins.op} before the first FROM`);
        cur.instructions.push(ins);
        if (ins.op === "ENV") {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(ins.args);
          if (!m || /\s[A-Za-z_][A-Za-z0-9_]*=/.test(m[2]!)) throw new Error(`line ${ins.line}: write one ENV KEY=value per line`);
          cur.env[m[1]!] = substitute(unquote(m[2]!), vars, ins.line);
        } else if (ins.op === "WORKDIR") {
          const dir = substitute(ins.args, vars, ins.line);
          cur.workdir = dir.startsWith("/") ? dir : `${cur.workdir.replace(/\/$/, "")}/${dir}`;
        } else if (ins.op === "USER") cur.user = substitute(ins.args, vars, ins.line);
        else if (ins.op === "COPY") {
          const words = ins.args.split(/\s+/);
          const copy: Copy = { sources: [], dest: "" };
          while (words[0]?.startsWith("--")) {
            const m = /^--(from|chown|chmod|link)(?:=(.*))?$/.exec(words.shift()!);
            if (!m) throw new Error(`line ${ins.line}: unsupported COPY flag`);
            if (m[1] === "from") copy.from = m[2];
            if (m[1] === "chown") copy.chown = m[2];
          }
          if (words.length < 2 || words[0]!.startsWith("[")) throw new Error(`line ${ins.line}: COPY needs src… dest (shell form)`);
          copy.dest = substitute(words.pop()!, vars, ins.line);
          copy.sources = words.map((w) => substitute(w, vars, ins.line));
          cur.copies.push(copy);
        } else if (ins.op === "EXPOSE") cur.expose.push(...ins.args.split(/\s+/));
        else if (ins.op === "VOLUME") cur.volumes.push(...(ins.args.startsWith("[") ? jsonArray(ins.args, ins.line, "VOLUME") : ins.args.split(/\s+/)));
        else if (ins.op === "ENTRYPOINT") cur.entrypoint = jsonArray(ins.args, ins.line, "ENTRYPOINT");
        else if (ins.op === "CMD") cur.cmd = jsonArray(ins.args, ins.line, "CMD");
        else if (ins.op === "HEALTHCHECK") {
          const m = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/s.exec(ins.args);
          if (!m) throw new Error(`line ${ins.line}: HEALTHCHECK must be [--opt=v …] CMD [json]`);
          const options = Object.fromEntries(
            m[1]!.trim().split(/\s+/).filter(Boolean).map((o) => o.replace(/^--/, "").split("=") as [string, string]),
          );
          cur.healthcheck = { options, cmd: jsonArray(m[2]!, ins.line, "HEALTHCHECK CMD") };
        }
      }
    }
  }
  if (!stages.length) throw new Error("no FROM in Dockerfile");
  return stages;
}

/** The process an image's stage starts: ENTRYPOINT followed by CMD. */
export function startCommand(stage: Stage): string[] {
  const argv = [...(stage.entrypoint ?? []), ...(stage.cmd ?? [])];
  if (!argv.length) throw new Error("the stage has neither ENTRYPOINT nor CMD");
  return argv;
}

/** `USER 10001:10001` → numeric ids (names would need the image's /etc/passwd). */
export function numericUser(user: string | undefined): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? "");
  if (!m) throw new Error(`USER must be numeric uid[:gid] (got ${user ?? "none"}): Kubernetes' runAsNonRoot can only verify numeric users`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}
