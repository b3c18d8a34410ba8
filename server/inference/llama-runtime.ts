/**
 * Which llama.cpp binary the process runs, and with how many threads.
 *
 * `npm run cli -- engine build` compiles node-llama-cpp's bundled llama.cpp with
 * GGML_NATIVE=ON (this CPU's full instruction set, e.g. native FP16 multiply-adds)
 * into node-llama-cpp's local-build folder and records the CPU it was built on in
 * data/engine/native-build.json. The pool loads that build only when the record
 * exists and this CPU has every instruction-set flag the build CPU had: a native
 * binary on a lesser CPU dies with SIGILL instead of failing politely. Anything
 * else — no build, a build wiped by `npm ci`, another CPU, a load error — falls
 * back to node-llama-cpp's prebuilt binary, and `engine info` says why.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Llama, LlamaOptions } from "node-llama-cpp";
import { inferenceEnv, pathsEnv } from "../env";
import { PATCH_SET_DIGEST } from "./llama-patches";

/**
 * The custom CMake options of our native build. Passing them to getLlama selects the
 * build's own folder (node-llama-cpp names local builds by their custom options), so the
 * default lookup never picks a native build up by accident. SWITCHYARD_LLAMA_PATCHES is
 * not read by CMake: it names the llama.cpp patch set compiled in (see llama-patches.ts),
 * so a build from before a patch changed is not loaded as if it had it.
 */
export const NATIVE_CMAKE_OPTIONS = { GGML_NATIVE: "ON", SWITCHYARD_LLAMA_PATCHES: PATCH_SET_DIGEST } as const;

/** Where the native build is recorded; beside the models, outside node_modules. */
export function engineDir(): string {
  return path.resolve(pathsEnv().SWITCHYARD_ENGINE_DIR);
}

export interface NativeBuildRecord {
  builtAt: string;
  nodeLlamaCppVersion: string;
  cpuModel: string;
  /** instruction-set flags of the build CPU (see isaFlags) */
  cpuFlags: string[];
  cmakeOptions: Record<string, string>;
  /** files of patches/ compiled in (their digest is in cmakeOptions) */
  llamaCppPatches?: string[];
}

export function nativeBuildRecordPath(): string {
  return path.join(engineDir(), "native-build.json");
}

export function readNativeBuildRecord(): NativeBuildRecord | null {
  const file = nativeBuildRecordPath();
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as NativeBuildRecord;
  } catch {
    return null;
  }
}

export function writeNativeBuildRecord(record: NativeBuildRecord) {
  mkdirSync(engineDir(), { recursive: true });
  writeFileSync(nativeBuildRecordPath(), `${JSON.stringify(record, null, 2)}\n`);
}

export interface CpuInfo {
  model: string;
  /** null when the platform does not tell (not Linux): then a native build is never trusted */
  flags: string[] | null;
  physicalCores: number;
}

// Flags that name instruction-set extensions a compiler may emit with -march=native;
// the rest (hypervisor, tsc_known_freq, …) differ between identical VMs and mean nothing here.
const ISA_FLAG = /^(sse|ssse|avx|fma|f16c|bmi|amx|popcnt|lzcnt|abm|movbe|sha|aes|pclmul|vaes|vpclmul|gfni|adx|xop|asimd|fp16|sve|dotprod|i8mm|bf16)/;

export function isaFlags(flags: Iterable<string>): string[] {
  return [...new Set([...flags].filter((f) => ISA_FLAG.test(f)))].sort();
}

/** Parses /proc/cpuinfo text (x86 "flags", ARM "Features"). */
export function parseCpuinfo(text: string): Omit<CpuInfo, "physicalCores"> & { physicalCores: number | null } {
  const blocks = text.split(/\n\s*\n/).filter((b) => b.trim());
  const field = (block: string, name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(block)?.[1]?.trim();
  const first = blocks[0] ?? "";
  const flagText = field(first, "flags") ?? field(first, "Features");
  const cores = new Set<string>();
  for (const b of blocks) {
    const pkg = field(b, "physical id");
    const core = field(b, "core id");
    if (pkg != null && core != null) cores.add(`${pkg}:${core}`);
  }
  return {
    model: field(first, "model name") ?? field(first, "CPU part") ?? "unknown",
    flags: flagText ? isaFlags(flagText.split(/\s+/)) : null,
    physicalCores: cores.size > 0 ? cores.size : null,
  };
}

let cpuCache: CpuInfo | undefined;

export function cpuInfo(): CpuInfo {
  if (cpuCache) return cpuCache;
  const logical = Math.max(1, os.availableParallelism());
  let parsed: ReturnType<typeof parseCpuinfo> | null = null;
  try {
    if (process.platform === "linux") parsed = parseCpuinfo(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    parsed = null;
  }
  cpuCache = {
    model: parsed?.model ?? os.cpus()[0]?.model ?? "unknown",
    flags: parsed?.flags ?? null,
    // a container may see fewer CPUs than the host's cores: never more threads than CPUs we may use
    physicalCores: Math.min(logical, parsed?.physicalCores ?? logical),
  };
  return cpuCache;
}

/**
 * Generation threads when neither the model nor LLAMA_THREADS says: the physical cores
 * (hyper-threads only contend for the same FMA units), never node-llama-cpp's CPU
 * default of max(4, cores), which collapses throughput on a 2-core machine. On the
 * prebuilt CPU binary, 1: its decodes hop between libuv threads, so their OpenMP teams
 * fight over the CPUs and 2 threads ran a stream at 0.77× of 1 thread (docs/benchmarks.md);
 * the default must never be slower than 1 thread. `binary` unknown (engine not loaded yet): cores.
 */
export function defaultThreads(binary?: EngineChoice["binary"], gpu: string | false = false): number {
  const fromEnv = inferenceEnv().LLAMA_THREADS;
  if (fromEnv !== undefined) return fromEnv;
  if (binary === "prebuilt" && gpu === false) return 1;
  return cpuInfo().physicalCores;
}

export type NativeBuildVerdict = { use: true } | { use: false; reason: string };

/** Whether the recorded native build may run on this CPU (pure: the caller passes both sides). */
export function nativeBuildVerdict(record: NativeBuildRecord | null, cpu: Pick<CpuInfo, "flags">): NativeBuildVerdict {
  if (!record) return { use: false, reason: "no native build (npm run cli -- engine build)" };
  if (!cpu.flags) return { use: false, reason: "this platform does not report CPU flags, so a native build is not trusted" };
  if (record.cmakeOptions.SWITCHYARD_LLAMA_PATCHES !== PATCH_SET_DIGEST) {
    return { use: false, reason: "the native build predates Switchyard's current llama.cpp patches; run engine build again" };
  }
  const have = new Set(cpu.flags);
  const missing = record.cpuFlags.filter((f) => !have.has(f));
  if (missing.length > 0) {
    return { use: false, reason: `the native build needs CPU features this CPU lacks: ${missing.join(", ")}` };
  }
  return { use: true };
}

export interface EngineChoice {
  llama: Llama;
  /** "local": a build made by node-llama-cpp's own CLI without our options, which it prefers over the prebuilt */
  binary: "native" | "prebuilt" | "local";
  /** why the native build is not in use (null when it is) */
  fallbackReason: string | null;
}

type GetLlama = (options: LlamaOptions) => Promise<Llama>;

/**
 * Loads the native build when it may run here, else the prebuilt binary. Never compiles:
 * a missing binary fails fast instead of starting a 4-minute build inside a request.
 */
export async function loadLlama(
  getLlama: GetLlama,
  options: Omit<LlamaOptions, "build" | "cmakeOptions" | "usePrebuiltBinaries">,
  record: NativeBuildRecord | null = readNativeBuildRecord(),
  cpu: Pick<CpuInfo, "flags"> = cpuInfo(),
): Promise<EngineChoice> {
  const verdict = nativeBuildVerdict(record, cpu);
  let fallbackReason = verdict.use ? null : verdict.reason;
  if (verdict.use && options.gpu === false) {
    try {
      const llama = await getLlama({
        ...options,
        build: "never",
        cmakeOptions: { ...NATIVE_CMAKE_OPTIONS },
        usePrebuiltBinaries: false,
      });
      if (llama.buildType === "localBuild") return { llama, binary: "native", fallbackReason: null };
      await llama.dispose();
      fallbackReason = "node-llama-cpp did not load the native build";
    } catch (e) {
      // typically node_modules was reinstalled and the build folder is gone
      fallbackReason = `native build not loadable (${(e as Error).message.split("\n")[0]}); run engine build again`;
    }
  } else if (verdict.use) {
    fallbackReason = "a GPU was requested (LLAMA_GPU); the native build is CPU-only";
  }
  const llama = await getLlama({ ...options, build: "never" });
  return { llama, binary: llama.buildType === "localBuild" ? "local" : "prebuilt", fallbackReason };
}

/**
 * The llama.cpp libraries this process has mapped (Linux): the addon and, for builds that
 * load their CPU backend dynamically, the CPU variant picked for this machine
 * (e.g. libggml-cpu-zen4.so). node-llama-cpp does not expose either.
 */
export function loadedLlamaLibraries(): { addon: string | null; cpuBackends: string[] } {
  let maps = "";
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {
    return { addon: null, cpuBackends: [] };
  }
  const files = new Set(maps.split("\n").map((l) => l.slice(l.indexOf("/"))).filter((f) => f.startsWith("/")));
  const addon = [...files].find((f) => f.endsWith("llama-addon.node")) ?? null;
  const cpuBackends = [...files].filter((f) => /libggml-cpu[^/]*\.so$/.test(f)).map((f) => path.basename(f));
  return { addon, cpuBackends };
}
