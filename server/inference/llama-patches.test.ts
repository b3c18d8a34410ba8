import { describe, expect, it } from "vitest";
import { PATCH_SET_DIGEST, patchSetDigest } from "./llama-patches";
import { NATIVE_CMAKE_OPTIONS, nativeBuildVerdict, type NativeBuildRecord } from "./llama-runtime";

describe("llama.cpp patch set", () => {
  it("PATCH_SET_DIGEST names the patch files as they are (update it with the patches)", () => {
    expect(patchSetDigest()).toBe(PATCH_SET_DIGEST);
  });

  it("is part of the native build's CMake options, so a build from before a patch changed is not used", () => {
    expect(NATIVE_CMAKE_OPTIONS.SWITCHYARD_LLAMA_PATCHES).toBe(PATCH_SET_DIGEST);
    const old: NativeBuildRecord = {
      builtAt: "2026-11-24T12:00:00.000Z",
      nodeLlamaCppVersion: "3.22.1",
      cpuModel: "AMD EPYC",
      cpuFlags: ["avx2"],
      cmakeOptions: { GGML_NATIVE: "ON" },
    };
    expect(nativeBuildVerdict(old, { flags: ["avx2"] })).toEqual({ use: false, reason: expect.stringContaining("run engine build again") });
    expect(nativeBuildVerdict({ ...old, cmakeOptions: { ...NATIVE_CMAKE_OPTIONS } }, { flags: ["avx2"] })).toEqual({ use: true });
  });
});
