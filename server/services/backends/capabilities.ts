/**
 * Image input of remote backends: what an upstream's GET /models says about each
 * model, and the effective capability of a (backend, model) target that routing
 * uses. Pure functions here (unit-tested) plus one best-effort read of /models.
 *
 * A backend's `vision` column is the platform admin's declaration and wins when set
 * (true: accepts images, false: text only). When it is null, a model the upstream
 * listed as taking images (`visionModels`, discovered) counts as capable; anything
 * else is unknown — the request is forwarded and the upstream decides.
 */
import type { RemoteBackendSpec } from "../../inference/remote";

/** Capability words of `capabilities` arrays (Ollama, llama-server's `models` list) that mean image input. */
const IMAGE_CAPABILITIES = new Set(["vision", "multimodal", "image", "images"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : null);
const hasWord = (v: unknown, words: ReadonlySet<string>) => Array.isArray(v) && v.some((x) => words.has(lower(x) ?? ""));
const IMAGE = new Set(["image", "images"]);

/** Whether one /models entry says its model takes images (OpenRouter, LM Studio, llama-server, Ollama-style fields). */
export function entryTakesImages(e: unknown): boolean {
  if (!isObject(e)) return false;
  const caps = e.capabilities;
  if (hasWord(caps, IMAGE_CAPABILITIES)) return true;
  if (isObject(caps) && (caps.vision === true || caps.multimodal === true || caps.image_input === true)) return true;
  // OpenRouter: architecture.input_modalities ["text","image"]; older: architecture.modality "text+image->text"
  const arch = e.architecture;
  if (isObject(arch)) {
    if (hasWord(arch.input_modalities, IMAGE)) return true;
    const modality = lower(arch.modality);
    if (modality?.split("->")[0]?.includes("image")) return true;
  }
  if (hasWord(e.input_modalities, IMAGE)) return true;
  if (hasWord(e.modalities, IMAGE)) return true;
  if (isObject(e.modalities) && hasWord(e.modalities.input, IMAGE)) return true;
  // LM Studio's own model list: type "vlm"
  if (lower(e.type) === "vlm") return true;
  if (e.vision === true) return true;
  return false;
}

function idOf(e: unknown): string | null {
  if (!isObject(e)) return null;
  for (const k of ["id", "model", "name"] as const) if (typeof e[k] === "string" && e[k] !== "") return e[k];
  return null;
}

/**
 * Ids of the models a /models answer lists as taking images, in order, without
 * duplicates. Reads the OpenAI `data` array and llama-server's extra `models` array.
 */
export function visionModelsOf(body: unknown): string[] {
  if (!isObject(body)) return [];
  const out = new Set<string>();
  for (const list of [body.data, body.models]) {
    if (!Array.isArray(list)) continue;
    for (const e of list) {
      const id = idOf(e);
      if (id !== null && entryTakesImages(e)) out.add(id);
    }
  }
  return [...out];
}

/** Whether a backend's model takes images: the declaration if any, else discovery, else unknown (null). */
export function backendModelVision(b: { vision: boolean | null; visionModels: readonly string[] }, model: string): boolean | null {
  if (b.vision !== null) return b.vision;
  return b.visionModels.includes(model) ? true : null;
}

/**
 * Reads GET {baseUrl}/models for its per-model capability fields. Best effort, for
 * discovery only: health and the model list come from fetchBackendModels; this
 * returns null on any failure so the caller keeps what it had.
 */
export async function fetchVisionModels(spec: RemoteBackendSpec): Promise<string[] | null> {
  try {
    const res = await fetch(spec.baseUrl.replace(/\/+$/, "") + "/models", {
      headers: { accept: "application/json", ...(spec.credential ? { authorization: `Bearer ${spec.credential}` } : {}) },
      signal: AbortSignal.timeout(spec.connectTimeoutMs * 2),
    });
    if (!res.ok) return null;
    return visionModelsOf(await res.json());
  } catch {
    return null;
  }
}
