/**
 * Our llama.cpp patches against the source node-llama-cpp really builds from: its bundled
 * git release, cloned the way `source download` does (offline, ~2 s). Compiling it takes
 * minutes and is left to `engine build`; what can silently rot is the patch applying.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyLlamaCppPatches, LLAMA_CPP_PATCH_FILES, nodeLlamaCppSourceDir } from "./llama-patches";

const scratch = mkdtempSync(path.join(tmpdir(), "switchyard-llama-patches-"));
const bundle = path.join(nodeLlamaCppSourceDir(), "..", "gitRelease.bundle");
const SGEMM = "ggml/src/ggml-cpu/llamafile/sgemm.cpp";

function cloneBundle(name: string): string {
  const dir = path.join(scratch, name);
  execFileSync("git", ["clone", "--quiet", bundle, dir], { stdio: "ignore" });
  return dir;
}

let source: string;
beforeAll(() => {
  source = cloneBundle("llama.cpp");
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("patches/llama.cpp on node-llama-cpp's bundled llama.cpp", () => {
  it("apply, and a second run finds them applied", async () => {
    const before = readFileSync(path.join(source, SGEMM), "utf8");
    expect(await applyLlamaCppPatches(source)).toEqual(LLAMA_CPP_PATCH_FILES.map((file) => ({ file, status: "applied" })));
    const after = readFileSync(path.join(source, SGEMM), "utf8");
    expect(before).not.toContain("prefetch_a(");
    expect(after).toContain("prefetch_a(");
    expect(after).toContain("tinyBLAS<16, __m512, __m512, ggml_fp16_t, float, float>");
    expect(await applyLlamaCppPatches(source)).toEqual(LLAMA_CPP_PATCH_FILES.map((file) => ({ file, status: "already applied" })));
    expect(readFileSync(path.join(source, SGEMM), "utf8")).toBe(after);
  });

  it("refuse a source they do not fit, naming the patch, and leave it unpatched", async () => {
    const other = cloneBundle("moved");
    const file = path.join(other, SGEMM);
    // what an upstream edit of the patched lines looks like to git apply
    const text = readFileSync(file, "utf8").replace("inline void gemm_bloc(int64_t ii, int64_t jj) {", "inline void gemm_bloc(int64_t ii, int64_t jj) { // moved");
    rmSync(file);
    appendFileSync(file, text);
    await expect(applyLlamaCppPatches(other)).rejects.toThrow(/sgemm-f16-few-columns\.diff does not apply/);
    expect(readFileSync(file, "utf8")).not.toContain("prefetch_a(");
  });
});
