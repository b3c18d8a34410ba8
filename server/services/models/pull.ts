/**
 * Downloading `hf:` models (node-llama-cpp's downloader, resumable, into the models
 * directory) — one implementation for the CLI (`model pull`, progress on the
 * terminal) and the console (`models.pull`, progress polled from this process).
 */
import { statSync } from "node:fs";
import path from "node:path";
import type { Db } from "../../db/client";
import { pathsEnv } from "../../env";
import { Conflict, Invalid, NotFound } from "../../errors";
import { processSlot } from "../../runtime/registry";
import { type Actor, recordAudit } from "../audit/audit";
import { isHfUri, setModelSource } from "./models";

export const MODELS_DIR = path.resolve(pathsEnv().SWITCHYARD_MODELS_DIR);

export interface PullProgress {
  downloadedBytes: number;
  totalBytes: number;
}

/** Downloads an hf: URI (skipping a complete existing file) and returns the local path. */
export async function downloadHfModel(uri: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<string> {
  if (!isHfUri(uri)) throw Invalid("Give an hf: URI, e.g. hf:user/repo/file.gguf", "source");
  const { createModelDownloader } = await import("node-llama-cpp");
  const downloader = await createModelDownloader({
    modelUri: uri,
    dirPath: MODELS_DIR,
    skipExisting: true,
    deleteTempFileOnCancel: false,
    onProgress: ({ totalSize, downloadedSize }) => onProgress?.({ downloadedBytes: downloadedSize, totalBytes: totalSize }),
  });
  if (signal) signal.addEventListener("abort", () => void downloader.cancel(), { once: true });
  return downloader.download();
}

// Downloads running in this server process, by model name (the console polls models.list).
const running = processSlot("models.pulls", () => new Map<string, PullProgress>()).get();

export function pullProgress(name: string): PullProgress | null {
  return running.get(name) ?? null;
}

/**
 * Starts downloading a registered hf: model in the background and returns at once;
 * the model's state says `downloading`, then `ready` (source = the local file) or
 * `failed` with the error in lastError.
 */
export async function startPull(
  db: Db,
  actor: Actor,
  name: string,
  /** no progress for this long fails the download (an unreachable Hugging Face retries for minutes otherwise) */
  opts: { stallMs?: number } = {},
): Promise<{ name: string; state: string }> {
  const stallMs = opts.stallMs ?? 60_000;
  const m = await db.model.findUnique({ where: { name }, select: { id: true, source: true, state: true } });
  if (!m) throw NotFound(`Model ${name}`);
  if (!isHfUri(m.source)) throw Conflict(`Model ${name} is a local file already; nothing to download`, "model_not_remote");
  if (running.has(name)) return { name, state: "downloading" };
  running.set(name, { downloadedBytes: 0, totalBytes: 0 });
  await db.model.update({ where: { id: m.id }, data: { state: "downloading", lastError: null } });
  await recordAudit(db, actor, { action: "model.pull", targetType: "model", targetId: m.id, data: { name, source: m.source } });
  const abort = new AbortController();
  let lastProgress = Date.now();
  const stalled = new Promise<never>((_, reject) => {
    const timer = setInterval(() => {
      if (Date.now() - lastProgress < stallMs) return;
      clearInterval(timer);
      abort.abort();
      reject(new Error(`no progress for ${Math.round(stallMs / 1000)} s — is huggingface.co reachable from this server?`));
    }, Math.min(1000, stallMs / 2));
    timer.unref();
    abort.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  });
  const download = downloadHfModel(
    m.source,
    (p) => {
      lastProgress = Date.now();
      running.set(name, p);
    },
    abort.signal,
  );
  void Promise.race([download, stalled])
    .then(async (file) => {
      await setModelSource(db, name, file, BigInt(statSync(file).size));
    })
    .catch(async (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      await db.model.update({ where: { id: m.id }, data: { state: "failed", lastError: `Download failed: ${message}`.slice(0, 500) } }).catch(() => {});
    })
    .finally(() => {
      abort.abort();
      running.delete(name);
    });
  return { name, state: "downloading" };
}
