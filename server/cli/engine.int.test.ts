// `engine info` as people run it (a real subprocess loading the real llama.cpp binary): which
// binary it picked and why, and threads defaulting to physical cores. `engine build` itself
// compiles for minutes and is not run here; its choice logic is unit-tested in
// server/inference/llama-runtime.test.ts.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cpuInfo, NATIVE_CMAKE_OPTIONS, writeNativeBuildRecord } from "../inference/llama-runtime";

const ROOT = path.resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(path.join(tmpdir(), "switchyard-engine-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function engineInfo(env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv = { ...process.env, ...env };
  delete childEnv.LLAMA_THREADS;
  delete childEnv.LLAMA_GPU;
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["server/cli/main.ts", "engine", "info", "--json"], { cwd: ROOT, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("engine info", () => {
  it("without a native build: the prebuilt binary, 1 thread per model by default, no GPU", async () => {
    const r = await engineInfo({ SWITCHYARD_ENGINE_DIR: path.join(scratch, "none") });
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({ binary: "prebuilt", gpu: false, nativeBuild: null, defaultThreads: 1, autoBuild: null });
    expect(info.fallbackReason).toMatch(/engine build/);
    expect(info.addonPath).toMatch(/llama-addon\.node$/);
    expect(info.maxThreads).toBeLessThanOrEqual(Math.max(cpuInfo().physicalCores, 1));
  });

  it("never loads a native build recorded on a CPU with instructions this one lacks", async () => {
    const dir = path.join(scratch, "foreign");
    process.env.SWITCHYARD_ENGINE_DIR = dir;
    try {
      writeNativeBuildRecord({
        builtAt: new Date().toISOString(),
        nodeLlamaCppVersion: "3.22.1",
        cpuModel: "a richer CPU",
        cpuFlags: [...(cpuInfo().flags ?? []), "amx_imaginary"],
        cmakeOptions: { ...NATIVE_CMAKE_OPTIONS },
      });
    } finally {
      delete process.env.SWITCHYARD_ENGINE_DIR;
    }
    const r = await engineInfo({ SWITCHYARD_ENGINE_DIR: dir });
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.binary).toBe("prebuilt");
    expect(info.nativeBuildUsable).toBe(false);
    expect(info.fallbackReason).toMatch(/amx_imaginary/);
  });
});
