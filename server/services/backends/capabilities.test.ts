import { describe, expect, it } from "vitest";
import { backendModelVision, entryTakesImages, visionModelsOf } from "./capabilities";

describe("visionModelsOf", () => {
  it("finds image-taking models in the shapes upstreams use", () => {
    const body = {
      object: "list",
      data: [
        { id: "plain", object: "model", owned_by: "x" },
        { id: "ollama-vision", capabilities: ["completion", "vision"] },
        { id: "openrouter", architecture: { input_modalities: ["text", "image"], output_modalities: ["text"] } },
        { id: "openrouter-old", architecture: { modality: "text+image->text" } },
        { id: "text-out-image", architecture: { modality: "text->image" } },
        { id: "flat", input_modalities: ["image", "text"] },
        { id: "mods", modalities: ["text", "image"] },
        { id: "mods-obj", modalities: { input: ["Image"], output: ["text"] } },
        { id: "lmstudio", type: "vlm" },
        { id: "lmstudio-llm", type: "llm" },
        { id: "caps-obj", capabilities: { vision: true } },
        { id: "caps-obj-no", capabilities: { vision: false, tools: true } },
        { id: "audio-only", input_modalities: ["audio", "text"] },
      ],
      // llama-server also answers a `models` list whose entries carry capabilities
      models: [
        { name: "llama-mm", model: "llama-mm", capabilities: ["completion", "multimodal"] },
        { name: "llama-text", model: "llama-text", capabilities: ["completion"] },
        { model: "ollama-vision", capabilities: ["vision"] },
      ],
    };
    expect(visionModelsOf(body)).toEqual(["ollama-vision", "openrouter", "openrouter-old", "flat", "mods", "mods-obj", "lmstudio", "caps-obj", "llama-mm"]);
  });

  it("is empty for anything that is not a model list", () => {
    for (const b of [null, "x", 3, [], {}, { data: "x" }, { data: [null, 1, "s", { capabilities: ["vision"] }] }]) expect(visionModelsOf(b)).toEqual([]);
    expect(entryTakesImages({ id: "a", capabilities: "vision" })).toBe(false);
  });
});

describe("backendModelVision", () => {
  it("the declaration wins; else discovered models are capable; else unknown", () => {
    expect(backendModelVision({ vision: false, visionModels: ["m"] }, "m")).toBe(false);
    expect(backendModelVision({ vision: true, visionModels: [] }, "m")).toBe(true);
    expect(backendModelVision({ vision: null, visionModels: ["m"] }, "m")).toBe(true);
    expect(backendModelVision({ vision: null, visionModels: ["m"] }, "other")).toBeNull();
  });
});
