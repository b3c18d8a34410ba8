/**
 * `engine build | info`: the llama.cpp binary the pool runs. `build` compiles
 * node-llama-cpp's bundled llama.cpp source with native CPU flags (offline: the
 * source ships inside the npm package as a git bundle); `info` loads the engine the
 * way the server does and says which binary, CPU backend, threads and GPU it got.
 * Listed in commands/index.ts; the selection logic lives in server/inference/llama-runtime.ts.
 */
import { setProcessVariables } from "../../env";
import { applyLlamaCppPatches, NATIVE_BUILD_PATCHES, nodeLlamaCppSourceDir } from "../../inference/llama-patches";
import { cpuInfo, nativeBuildRecordPath, nativeBuildVerdict, NATIVE_CMAKE_OPTIONS, readNativeBuildRecord, writeNativeBuildRecord } from "../../inference/llama-runtime";
import type { AutoBuildStatus } from "../../inference/auto-build";
import { listModels } from "../../services/models/models";
import type { Command } from "../registry";
import { CliError, table } from "../format";

const CMAKE_ENV_PREFIX = "NODE_LLAMA_CPP_CMAKE_OPTION_";

function describeAutoBuild(s: AutoBuildStatus | null, binary: string): string {
  if (!s) return "none";
  if (s.state === "building") return `compiling since ${s.startedAt} (pid ${s.pid}; ${s.log})`;
  if (s.state === "built") return `finished ${s.finishedAt}${binary === "native" ? "" : "; restart the server to use it"}`;
  return `${s.state} (${s.log}); \`engine build\` by hand`;
}

/**
 * Whether node-llama-cpp's folder already holds a native build that loads on this CPU.
 * Probed in a child process: a binary built for a richer instruction set kills its
 * process with SIGILL, which must not be this one.
 */
async function nativeBuildRunsHere(): Promise<boolean> {
  const { spawn } = await import("node:child_process");
  const probe = `const m = await import("node-llama-cpp");
const l = await m.getLlama({ gpu: false, build: "never", usePrebuiltBinaries: false, cmakeOptions: ${JSON.stringify(NATIVE_CMAKE_OPTIONS)}, logLevel: m.LlamaLogLevel.disabled, progressLogs: false });
process.exit(l.buildType === "localBuild" ? 0 : 3);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", probe], { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });
}

export const engineCommands: Command[] = [
  {
    path: ["engine", "build"],
    summary: "Build llama.cpp from node-llama-cpp's bundled source for this CPU (offline; minutes: ~7 on 2 busy cores)",
    flags: {
      force: { type: "boolean", description: "Compile even if a native build that runs on this CPU is already there" },
    },
    async run(_ctx, flags) {
      const cpu = cpuInfo();
      if (!cpu.flags) throw new CliError("this platform does not report CPU flags; a native build could not be checked before loading, so none is made");
      const n = await import("node-llama-cpp");
      if (flags.force === true || !(await nativeBuildRunsHere())) {
        // node-llama-cpp reads custom CMake options from the environment; they also name the build's folder.
        setProcessVariables(Object.fromEntries(Object.entries(NATIVE_CMAKE_OPTIONS).map(([k, v]) => [CMAKE_ENV_PREFIX + k, v])));
        const { BuildLlamaCppCommand, DownloadLlamaCppCommand } = await import("node-llama-cpp/commands");
        // Its progress (clone from the bundled git bundle, CMake, compiler lines) goes to the terminal.
        await DownloadLlamaCppCommand({ gpu: false, skipBuild: true, noUsageExample: true });
        const sourceDir = nodeLlamaCppSourceDir();
        try {
          for (const r of await applyLlamaCppPatches(sourceDir)) process.stderr.write(`llama.cpp patch ${r.file}: ${r.status}\n`);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        await BuildLlamaCppCommand({ gpu: false, noUsageExample: true });
        setProcessVariables(Object.fromEntries(Object.keys(NATIVE_CMAKE_OPTIONS).map((k) => [CMAKE_ENV_PREFIX + k, undefined])));
      } else {
        process.stderr.write("a native build for this CPU is already there; recording it (--force compiles again)\n");
      }

      // Prove it loads here before the server is told to use it.
      const llama = await n.getLlama({
        gpu: false,
        build: "never",
        cmakeOptions: { ...NATIVE_CMAKE_OPTIONS },
        usePrebuiltBinaries: false,
        logLevel: n.LlamaLogLevel.error,
      });
      if (llama.buildType !== "localBuild") throw new CliError("the build finished but node-llama-cpp did not load it");
      const systemInfo = llama.systemInfo;
      await llama.dispose();
      const record = {
        builtAt: new Date().toISOString(),
        nodeLlamaCppVersion: await n.getModuleVersion(),
        cpuModel: cpu.model,
        cpuFlags: cpu.flags,
        cmakeOptions: { ...NATIVE_CMAKE_OPTIONS },
        llamaCppPatches: [...NATIVE_BUILD_PATCHES],
      };
      writeNativeBuildRecord(record);
      return {
        text: [
          `native build ready for ${cpu.model}; recorded in ${nativeBuildRecordPath()}`,
          `llama.cpp: ${systemInfo}`,
          "restart the server to use it (npm run cli -- engine info shows what is in use)",
        ].join("\n"),
        json: { ...record, recordPath: nativeBuildRecordPath(), systemInfo },
      };
    },
  },
  {
    path: ["engine", "info"],
    summary: "Show the llama.cpp binary, CPU variant, threads and GPU support the server uses",
    flags: {},
    async run(ctx) {
      const { engineInfo } = await import("../../inference/local-engine");
      const info = await engineInfo();
      const record = readNativeBuildRecord();
      const models = await listModels(ctx.db()).catch(() => []);
      const lines = table(
        ["WHAT", "VALUE"],
        [
          ["binary", info.binary + (info.fallbackReason ? ` (native build not used: ${info.fallbackReason})` : "")],
          ["addon", info.addonPath ?? "unknown"],
          ["cpu backend", info.cpuBackends.length ? info.cpuBackends.join(", ") : "built into the addon"],
          ["llama.cpp", info.llamaCppRelease],
          ["cpu", `${info.cpu.model}, ${info.cpu.physicalCores} physical cores (llama.cpp math cores: ${info.cpu.mathCores})`],
          ["threads", `${info.defaultThreads} per model by default (LLAMA_THREADS, else 1 on the prebuilt binary and the physical cores on a native build), at most ${info.maxThreads}`],
          ["gpu", info.gpu === false ? "none (CPU only)" : `${info.gpu}${info.supportsGpuOffloading ? " with offloading" : ""}`],
          ["native build", record ? `${record.builtAt} on ${record.cpuModel} (node-llama-cpp ${record.nodeLlamaCppVersion}; llama.cpp patches: ${record.llamaCppPatches?.join(", ") || "none"})` : "none"],
          ["background build", describeAutoBuild(info.autoBuild, info.binary)],
          ["features", info.systemInfo],
          ...models.map((m) => [`model ${m.name}`, `${m.threads ?? info.defaultThreads} threads${m.threads ? "" : " (default)"}, parallel ${m.parallel}`]),
        ],
      );
      const verdict = nativeBuildVerdict(record, cpuInfo());
      return { text: lines, json: { ...info, nativeBuild: record, nativeBuildUsable: verdict.use } };
    },
  },
];
