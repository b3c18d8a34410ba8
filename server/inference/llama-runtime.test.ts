import type { Llama, LlamaOptions } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { isaFlags, loadLlama, NATIVE_CMAKE_OPTIONS, type NativeBuildRecord, nativeBuildVerdict, parseCpuinfo } from "./llama-runtime";

const CPUINFO = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 avx avx2 fma f16c hypervisor avx512f avx512_bf16

processor\t: 1
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 avx avx2 fma f16c hypervisor avx512f avx512_bf16

processor\t: 2
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: 1
flags\t\t: fpu sse sse2 avx avx2 fma f16c hypervisor avx512f avx512_bf16
`;

const record = (flags: string[]): NativeBuildRecord => ({
  builtAt: "2026-11-25T12:00:00.000Z",
  nodeLlamaCppVersion: "3.22.1",
  cpuModel: "AMD EPYC",
  cpuFlags: flags,
  cmakeOptions: { ...NATIVE_CMAKE_OPTIONS },
});

describe("parseCpuinfo", () => {
  it("counts physical cores, not hyper-threads, and keeps only instruction-set flags", () => {
    const cpu = parseCpuinfo(CPUINFO);
    expect(cpu.physicalCores).toBe(2);
    expect(cpu.model).toBe("AMD EPYC");
    expect(cpu.flags).toEqual(["avx", "avx2", "avx512_bf16", "avx512f", "f16c", "fma", "sse", "sse2"]);
  });

  it("reports unknown cores and flags when cpuinfo lacks them", () => {
    expect(parseCpuinfo("processor : 0\n")).toMatchObject({ physicalCores: null, flags: null });
  });
});

describe("nativeBuildVerdict", () => {
  const here = { flags: isaFlags(["sse", "avx", "avx2", "fma", "f16c"]) };
  it("uses a build whose CPU features this CPU has", () => {
    expect(nativeBuildVerdict(record(["avx", "avx2", "fma"]), here)).toEqual({ use: true });
  });
  it("refuses a build that needs features this CPU lacks, naming them", () => {
    const v = nativeBuildVerdict(record(["avx", "avx512f", "avx512_bf16"]), here);
    expect(v).toEqual({ use: false, reason: expect.stringContaining("avx512f, avx512_bf16") });
  });
  it("refuses without a record, or when the CPU's features are unknown", () => {
    expect(nativeBuildVerdict(null, here).use).toBe(false);
    expect(nativeBuildVerdict(record(["avx"]), { flags: null }).use).toBe(false);
  });
});

describe("loadLlama", () => {
  // Stands in for node-llama-cpp's getLlama: the choice between binaries is what is tested here.
  function fakeGetLlama(localBuildExists: boolean) {
    const calls: LlamaOptions[] = [];
    const getLlama = async (o: LlamaOptions) => {
      calls.push(o);
      const native = o.cmakeOptions?.GGML_NATIVE === "ON";
      if (native && !localBuildExists) throw new Error("NoBinaryFoundError: no local build");
      return { buildType: native ? "localBuild" : "prebuilt", dispose: async () => {} } as unknown as Llama;
    };
    return { getLlama, calls };
  }
  const cpu = { flags: ["avx", "avx2"] };

  it("loads the native build when recorded, present and runnable", async () => {
    const f = fakeGetLlama(true);
    const r = await loadLlama(f.getLlama, { gpu: false }, record(["avx"]), cpu);
    expect(r).toMatchObject({ binary: "native", fallbackReason: null });
    expect(f.calls).toEqual([expect.objectContaining({ build: "never", usePrebuiltBinaries: false, cmakeOptions: NATIVE_CMAKE_OPTIONS })]);
  });

  it("falls back to the prebuilt binary when the recorded build is gone (node_modules reinstalled)", async () => {
    const f = fakeGetLlama(false);
    const r = await loadLlama(f.getLlama, { gpu: false }, record(["avx"]), cpu);
    expect(r.binary).toBe("prebuilt");
    expect(r.fallbackReason).toMatch(/not loadable/);
    expect(f.calls.at(-1)).toEqual({ gpu: false, build: "never" });
  });

  it("never tries a native build on a CPU that cannot run it", async () => {
    const f = fakeGetLlama(true);
    const r = await loadLlama(f.getLlama, { gpu: false }, record(["avx", "avx512f"]), cpu);
    expect(r).toMatchObject({ binary: "prebuilt", fallbackReason: expect.stringContaining("avx512f") });
    expect(f.calls).toEqual([{ gpu: false, build: "never" }]);
  });

  it("uses the prebuilt binary when there is no native build", async () => {
    const f = fakeGetLlama(true);
    expect((await loadLlama(f.getLlama, { gpu: false }, null, cpu)).binary).toBe("prebuilt");
  });
});
