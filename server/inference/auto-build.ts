/**
 * Fast out of the box: the first start on a machine without a usable native llama.cpp build
 * serves at once on node-llama-cpp's prebuilt binary (1 thread per model: measured faster
 * on it than more, docs/benchmarks.md) and compiles the native engine (`engine build`) in a
 * background process at the lowest CPU priority. The native build is used from the next
 * start of the server (a process cannot swap its loaded llama.cpp addon); `engine info`,
 * the console's Models page and the log say which engine runs and what the build is doing.
 *
 * Only when it can work: ENGINE_AUTO_BUILD is not "off", this platform reports CPU flags,
 * `cmake` and a C++ compiler are on PATH and the CLI runs from this checkout (not the
 * standalone image, which has no build tools). A failed build is not retried on every start:
 * its status (data/engine/auto-build.json) stays "failed" until `engine build` is run by hand.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { childProcessEnv, inferenceEnv } from "../env";
import { PATCH_SET_DIGEST } from "./llama-patches";
import { cpuInfo, engineDir, nativeBuildVerdict, readNativeBuildRecord } from "./llama-runtime";

export interface AutoBuildStatus {
  state: "building" | "built" | "failed" | "interrupted";
  pid: number | null;
  startedAt: string;
  finishedAt: string | null;
  exitCode: number | null;
  /** the build's output */
  log: string;
  /** the patch set it compiled (a build for an older one may run again) */
  patchSet: string;
}

export function autoBuildStatusPath(): string {
  return path.join(engineDir(), "auto-build.json");
}

function alive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The background build's status; a "building" whose process is gone reads as "interrupted". */
export function readAutoBuildStatus(): AutoBuildStatus | null {
  const file = autoBuildStatusPath();
  if (!existsSync(file)) return null;
  try {
    const s = JSON.parse(readFileSync(file, "utf8")) as AutoBuildStatus;
    if (s.state !== "building" || alive(s.pid)) return s;
    // the server that started it exited first: the build's own record says whether it finished
    const record = readNativeBuildRecord();
    return record && record.builtAt >= s.startedAt ? { ...s, state: "built", finishedAt: record.builtAt, exitCode: 0 } : { ...s, state: "interrupted" };
  } catch {
    return null;
  }
}

function writeStatus(s: AutoBuildStatus) {
  mkdirSync(engineDir(), { recursive: true });
  writeFileSync(autoBuildStatusPath(), `${JSON.stringify(s, null, 2)}\n`);
}

export interface AutoBuildFacts {
  setting: string | undefined;
  /** a native build that may run here already exists */
  nativeUsable: boolean;
  cpuFlagsKnown: boolean;
  hasTools: boolean;
  status: AutoBuildStatus | null;
  patchSet: string;
}

export type AutoBuildDecision = { start: true } | { start: false; why: string };

/** Whether to start a background build (pure). */
export function autoBuildDecision(f: AutoBuildFacts): AutoBuildDecision {
  if ((f.setting ?? "auto").trim().toLowerCase() === "off") return { start: false, why: "ENGINE_AUTO_BUILD=off" };
  if (f.nativeUsable) return { start: false, why: "a native build for this CPU is in use" };
  if (!f.cpuFlagsKnown) return { start: false, why: "this platform does not report CPU flags" };
  if (!f.hasTools) return { start: false, why: "no cmake / C++ compiler / CLI here (run `npm run cli -- engine build` where they are)" };
  if (f.status?.state === "building") return { start: false, why: `already building (pid ${f.status.pid})` };
  if (f.status?.state === "failed" && f.status.patchSet === f.patchSet) {
    return { start: false, why: `the last background build failed (see ${f.status.log}); run \`npm run cli -- engine build\`` };
  }
  // never built, interrupted, or built yet not usable (another CPU, wiped by npm ci…): build
  return { start: true };
}

const onPath = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

function cliCommand(root: string): string[] | null {
  const tsx = path.join(root, "node_modules/.bin/tsx");
  const main = path.join(root, "server/cli/main.ts");
  return existsSync(tsx) && existsSync(main) ? [tsx, main, "engine", "build"] : null;
}

/**
 * Starts the background build when autoBuildDecision says so; returns the decision for the
 * start-up log. The child runs detached at nice 19, its output in data/engine/auto-build.log.
 */
export function maybeStartBackgroundBuild(root = process.cwd(), onDone?: (s: AutoBuildStatus) => void): AutoBuildDecision {
  const cli = cliCommand(root);
  const decision = autoBuildDecision({
    setting: inferenceEnv().ENGINE_AUTO_BUILD,
    nativeUsable: nativeBuildVerdict(readNativeBuildRecord(), cpuInfo()).use,
    cpuFlagsKnown: cpuInfo().flags !== null,
    hasTools: cli !== null && onPath("cmake") && (onPath("c++") || onPath("g++") || onPath("clang++")),
    status: readAutoBuildStatus(),
    patchSet: PATCH_SET_DIGEST,
  });
  if (!decision.start) return decision;
  mkdirSync(engineDir(), { recursive: true });
  const log = path.join(engineDir(), "auto-build.log");
  const fd = openSync(log, "w");
  const niced = onPath("nice");
  const [cmd, ...args] = niced ? ["nice", "-n", "19", ...cli!] : cli!;
  const child = spawn(cmd!, args, { cwd: root, detached: true, stdio: ["ignore", fd, fd], env: childProcessEnv({ ENGINE_AUTO_BUILD: "off" }) });
  closeSync(fd);
  const status: AutoBuildStatus = {
    state: "building",
    pid: child.pid ?? null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    exitCode: null,
    log,
    patchSet: PATCH_SET_DIGEST,
  };
  writeStatus(status);
  child.on("exit", (code) => {
    const done: AutoBuildStatus = { ...status, state: code === 0 ? "built" : "failed", finishedAt: new Date().toISOString(), exitCode: code };
    writeStatus(done);
    onDone?.(done);
  });
  child.on("error", () => writeStatus({ ...status, state: "failed", finishedAt: new Date().toISOString() }));
  // the server may exit (or restart onto the new engine) without waiting for it
  child.unref();
  return decision;
}
