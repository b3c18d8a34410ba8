/**
 * Our patches to llama.cpp's own source (patches/llama.cpp/, explained in patches/README.md),
 * applied by `engine build` to the source node-llama-cpp unpacks from its bundled git release
 * before compiling it. The prebuilt binaries stay as published: only a native build carries them.
 *
 * A native build also compiles node-llama-cpp's addon from its C++ source in node_modules,
 * which patch-package patches at install (patches/node-llama-cpp+3.22.1.patch; the prebuilt
 * addon keeps node-llama-cpp's code). So the digest covers both: it is one of the native
 * build's CMake options, and node-llama-cpp names a local build's folder after its options,
 * so a build made before either patch changed is a different folder and is never mistaken
 * for the current one. llama-patches.test.ts fails when the files change and
 * PATCH_SET_DIGEST does not.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";

export const LLAMA_CPP_PATCH_FILES = ["sgemm-f16-few-columns.diff"] as const;

/** sha256 of the patch files (in order), first 12 hex digits: see patchSetDigest */
export const PATCH_SET_DIGEST = "1793ccb127e9";

export function llamaCppPatchesDir(root = process.cwd()): string {
  return path.join(root, "patches", "llama.cpp");
}

/** What a native build compiles in, relative to patches/: the llama.cpp patches and node-llama-cpp's (its addon). */
export const NATIVE_BUILD_PATCHES = [...LLAMA_CPP_PATCH_FILES.map((f) => `llama.cpp/${f}`), "node-llama-cpp+3.22.1.patch"];

export function patchSetDigest(root = process.cwd()): string {
  const h = createHash("sha256");
  for (const f of NATIVE_BUILD_PATCHES) h.update(readFileSync(path.join(root, "patches", f)));
  return h.digest("hex").slice(0, 12);
}

/** Where node-llama-cpp unpacks llama.cpp's source for a local build (`source download`). */
export function nodeLlamaCppSourceDir(): string {
  const entry = createRequire(path.join(process.cwd(), "package.json")).resolve("node-llama-cpp");
  return path.join(path.dirname(entry), "..", "llama", "llama.cpp");
}

const exec = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const r = await exec("git", args, { cwd });
    return { ok: true, output: `${r.stdout}${r.stderr}` };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}` || err.message };
  }
}

export interface PatchResult {
  file: string;
  status: "applied" | "already applied";
}

/**
 * Applies every patch to the llama.cpp checkout in `sourceDir`; one already there is left
 * alone. A patch that applies neither way means node-llama-cpp's bundled llama.cpp moved
 * under us: that throws, naming the patch, instead of compiling an unpatched engine.
 */
export async function applyLlamaCppPatches(sourceDir: string, patchesDir = llamaCppPatchesDir()): Promise<PatchResult[]> {
  const results: PatchResult[] = [];
  for (const file of LLAMA_CPP_PATCH_FILES) {
    const patch = path.join(patchesDir, file);
    const check = await git(sourceDir, ["apply", "--check", patch]);
    if (check.ok) {
      const r = await git(sourceDir, ["apply", patch]);
      if (!r.ok) throw new Error(`applying ${file} to ${sourceDir} failed: ${r.output.trim()}`);
      results.push({ file, status: "applied" });
    } else if ((await git(sourceDir, ["apply", "--check", "--reverse", patch])).ok) {
      results.push({ file, status: "already applied" });
    } else {
      const why = check.output.trim();
      throw new Error(`patch ${file} does not apply to the llama.cpp source in ${sourceDir} (did node-llama-cpp's llama.cpp release change?): ${why}`);
    }
  }
  return results;
}
