/**
 * `model add | pull | list | remove`. Local GGUF models are platform-wide (a
 * platform admin's business; the CLI acts as one). Listed in commands/index.ts.
 */
import path from "node:path";
import { statSync } from "node:fs";
import { CLI_ACTOR } from "../../services/audit/audit";
import { addModel, isHfUri, listModels, removeModel, setModelSource } from "../../services/models/models";
import { downloadHfModel } from "../../services/models/pull";
import { type Flags, str } from "../args";
import type { Command, Ctx, Output } from "../registry";
import { CliError, table } from "../format";

const int = (flags: Flags, name: string) => {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CliError(`--${name}: expected a whole number, got "${v}"`);
  return Number(v);
};



/** `model add FILE …` and `model pull URI …` take their first argument without a flag; the parser wants flags. */
export function rewritePositionals(argv: string[]): string[] {
  const [a, b, c, ...rest] = argv;
  if (a === "model" && (b === "add" || b === "pull") && c !== undefined && !c.startsWith("-")) {
    return [a, b, "--source", c, ...rest];
  }
  return argv;
}

const human = (bytes: bigint | number | null) => {
  if (bytes === null) return "—";
  const n = Number(bytes);
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
};

async function pull(ctx: Ctx, flags: Flags): Promise<Output> {
  const uri = str(flags, "source")!;
  if (!isHfUri(uri)) throw new CliError("--source: give an hf: URI, e.g. hf:user/repo/file.gguf (use `model add` for a local file)");
  const file = await downloadHfModel(uri, ({ totalBytes, downloadedBytes }) => {
    const pct = totalBytes ? Math.floor((downloadedBytes / totalBytes) * 100) : 0;
    const bar = "#".repeat(Math.floor(pct / 4)).padEnd(25, ".");
    process.stderr.write(`\r[${bar}] ${pct}% ${human(downloadedBytes)} / ${human(totalBytes)}`);
  });
  process.stderr.write("\n");
  const size = BigInt(statSync(file).size);
  const name = str(flags, "name") ?? path.basename(file).replace(/\.gguf$/i, "");
  const existing = (await listModels(ctx.db())).find((m) => m.name === name);
  const model = existing
    ? await setModelSource(ctx.db(), name, file, size)
    : await addModel(ctx.db(), CLI_ACTOR, { ...modelFields(flags), name, source: file });
  return { text: `downloaded ${uri}\n→ ${file} (${human(size)}), model "${model.name}"`, json: { ...model, sizeBytes: Number(size) } };
}

function modelFields(flags: Flags) {
  const kind = str(flags, "kind");
  if (kind !== undefined && kind !== "chat" && kind !== "embedding") throw new CliError(`--kind: use chat or embedding, got "${kind}"`);
  return {
    kind: kind as "chat" | "embedding" | undefined,
    contextSize: int(flags, "ctx"),
    parallel: int(flags, "parallel"),
    threads: int(flags, "threads"),
    chatTemplate: str(flags, "chat-template"),
    loadAtStartup: flags["load-at-startup"] === true,
  };
}

const tuning = {
  kind: { type: "string", value: "KIND", description: "chat (default) or embedding" },
  ctx: { type: "string", value: "N", description: "Context size per sequence (default 4096)" },
  parallel: { type: "string", value: "N", description: "Parallel sequences (default 4)" },
  threads: { type: "string", value: "N", description: "CPU threads for generation (default: LLAMA_THREADS, else physical cores)" },
  "chat-template": { type: "string", value: "TYPE", description: "auto (from the GGUF) or a wrapper type such as chatml" },
  "load-at-startup": { type: "boolean", description: "Load when the server starts instead of on first use" },
} as const;

export const modelCommands: Command[] = [
  {
    path: ["model", "add"],
    summary: "Register a local GGUF file as a model: model add FILE --name NAME",
    flags: {
      source: { type: "string", value: "FILE", required: true, description: "Path of the .gguf file (or give it first)" },
      name: { type: "string", value: "NAME", required: true, description: "Public model id callers use" },
      ...tuning,
    },
    async run(ctx, flags) {
      const model = await addModel(ctx.db(), CLI_ACTOR, { ...modelFields(flags), name: str(flags, "name")!, source: str(flags, "source")! });
      return {
        text: `added model "${model.name}" (${model.kind}, ${human(model.sizeBytes)}, ctx ${model.contextSize}, parallel ${model.parallel})`,
        json: { ...model, sizeBytes: model.sizeBytes === null ? null : Number(model.sizeBytes) },
      };
    },
  },
  {
    path: ["model", "pull"],
    summary: "Download a GGUF from Hugging Face and register it: model pull hf:USER/REPO/FILE.gguf",
    flags: {
      source: { type: "string", value: "URI", required: true, description: "hf:user/repo/file.gguf (or give it first)" },
      name: { type: "string", value: "NAME", description: "Public model id (default: the file name)" },
      ...tuning,
    },
    run: pull,
  },
  {
    path: ["model", "list"],
    summary: "List models with their status and size",
    flags: {},
    async run(ctx) {
      const rows = await listModels(ctx.db());
      const text = rows.length
        ? table(
            ["NAME", "KIND", "STATE", "SIZE", "CTX", "PARALLEL", "SOURCE"],
            rows.map((m) => [m.name, m.kind, m.enabled ? m.state : "disabled", human(m.sizeBytes), String(m.contextSize), String(m.parallel), m.source]),
          )
        : "no models (add one: npm run cli -- model add FILE.gguf --name NAME)";
      return { text, json: rows.map((m) => ({ ...m, sizeBytes: m.sizeBytes === null ? null : Number(m.sizeBytes) })) };
    },
  },
  {
    path: ["model", "remove"],
    summary: "Remove a model",
    flags: { name: { type: "string", value: "NAME", required: true, description: "Model id" } },
    async run(ctx, flags) {
      await removeModel(ctx.db(), CLI_ACTOR, str(flags, "name")!);
      return { text: `removed model "${str(flags, "name")}"`, json: { removed: str(flags, "name") } };
    },
  },
];
