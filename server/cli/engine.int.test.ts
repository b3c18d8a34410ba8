// `engine info` as people run it (a real subprocess loading the real llama.cpp binary): which
// binary it picked and why, and threads defaulting to physical cores. `engine build` itself
// compiles for minutes and is not run here; its choice logic is unit-tested in
// server/inference/llama-runtime.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cpuInfo, NATIVE_CMAKE_OPTIONS, writeNativeBuildRecord } from "../inference/llama-runtime";
import { runCli } from "../test/cli";

const scratch = mkdtempSync(path.join(tmpdir(), "switchyard-engine-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** LLAMA_THREADS and LLAMA_GPU of the test's own environment would change the answer. */
const engineInfo = (env: Record<string, string | undefined>) => runCli(["engine", "info", "--json"], { env: { LLAMA_THREADS: undefined, LLAMA_GPU: undefined, ...env } });

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
