/**
 * The lifecycle of the local pool's models: registered from Model rows (engine.ts `specOf`),
 * loaded on first use (or at start-up with loadAtStartup), replaced — unloaded, then loaded
 * again on next use — when their spec changes, unloaded on request, and described for the
 * console and metrics (`status`). A model that fails to load answers 503 with the reason and
 * stays failed until reloaded; other models keep serving.
 *
 * A loaded chat model is one context with `parallel` sequences, so concurrent requests share
 * decode batches (local-engine.ts keeps the sequences); an embedding model is one embedding
 * context. `renderPrompt` is the one rendering of a request's prompt on a loaded model.
 */
import type { ChatWrapper, LlamaContext, LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp";
import { AppError, Unavailable } from "../errors";
import type { FairSlots } from "./fair-queue";
import { logger } from "../log/logger";
import { llama, modelThreads, nodeLlamaCpp, patchedContextOptions, requestQueue, SequenceSlots } from "./local-engine";
import { chatContextInput } from "./local-options";
import type { GenerateRequest } from "./types";

export interface LocalModelSpec {
  name: string;
  /** absolute path of the GGUF file */
  path: string;
  kind: "chat" | "embedding";
  contextSize: number;
  parallel: number;
  threads?: number | null;
  /** "auto" (from the GGUF's template) or a node-llama-cpp wrapper type like "chatml" */
  chatTemplate?: string | null;
}

export type LocalModelState = "unloaded" | "loading" | "ready" | "failed";

export interface LocalModelStatus {
  name: string;
  state: LocalModelState;
  error: string | null;
  active: number;
  queued: number;
  slots: number;
  sizeBytes: number | null;
  /** the chat wrapper in use once loaded, e.g. "ChatML" or "JinjaTemplate" */
  chatWrapper: string | null;
}

export interface Loaded {
  model: LlamaModel;
  chatWrapper?: ChatWrapper;
  context?: LlamaContext;
  embedding?: LlamaEmbeddingContext;
}

export class LocalModel {
  state: LocalModelState = "unloaded";
  error: string | null = null;
  loaded: Loaded | null = null;
  private loading: Promise<Loaded> | null = null;
  readonly slots: FairSlots;
  /** kept sequences of the loaded context */
  readonly kv: SequenceSlots;

  constructor(readonly spec: LocalModelSpec) {
    this.slots = requestQueue(spec.name, spec.kind === "embedding" ? 1 : Math.max(1, spec.parallel));
    this.kv = new SequenceSlots(spec.name, spec.parallel);
  }

  async ensureLoaded(): Promise<Loaded> {
    if (this.loaded) return this.loaded;
    if (this.state === "failed") {
      throw Unavailable(`Model ${this.spec.name} failed to load: ${this.error}`, "model_load_failed", 30);
    }
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<Loaded> {
    this.state = "loading";
    try {
      const l = await llama();
      const threads = await modelThreads(this.spec.threads);
      const model = await l.loadModel({ modelPath: this.spec.path });
      const loaded: Loaded = { model };
      if (this.spec.kind === "embedding") {
        loaded.embedding = await model.createEmbeddingContext({
          contextSize: Math.min(this.spec.contextSize, model.trainContextSize),
          threads,
        });
      } else {
        loaded.chatWrapper = await chatWrapperFor(model, this.spec);
        loaded.context = await model.createContext({
          // per sequence: node-llama-cpp allocates contextSize cells for each of the sequences
          contextSize: Math.min(this.spec.contextSize, model.trainContextSize),
          sequences: Math.max(1, this.spec.parallel),
          threads,
          batchSize: Math.min(512, this.spec.contextSize),
          ...patchedContextOptions(),
        });
      }
      this.loaded = loaded;
      this.state = "ready";
      return loaded;
    } catch (e) {
      this.state = "failed";
      this.error = (e as Error).message.split("\n")[0] ?? "unknown error";
      this.loading = null;
      logger("inference").error(`model ${this.spec.name} failed to load: ${this.error}`);
      throw Unavailable(`Model ${this.spec.name} failed to load: ${this.error}`, "model_load_failed", 30);
    }
  }

  async unload() {
    const l = this.loaded;
    this.loaded = null;
    this.loading = null;
    this.kv.forget();
    this.state = "unloaded";
    this.error = null;
    this.slots.rejectAll(Unavailable(`Model ${this.spec.name} was unloaded`, "model_unloaded", 1));
    await l?.context?.dispose();
    await l?.embedding?.dispose();
    await l?.model.dispose();
  }

  /** Tokens one sequence holds: the configured size (node-llama-cpp may allocate a padded one), at most the loaded context's. */
  contextLimit(): number {
    const allocated = this.loaded?.context?.contextSize ?? this.spec.contextSize;
    return Math.min(this.spec.contextSize, allocated);
  }

  status(): LocalModelStatus {
    const s = this.slots.stats;
    return {
      name: this.spec.name,
      state: this.state,
      error: this.error,
      active: s.active,
      queued: s.queued,
      slots: s.slots,
      sizeBytes: this.loaded ? this.loaded.model.size : null,
      chatWrapper: this.loaded?.chatWrapper?.wrapperName ?? null,
    };
  }
}

/**
 * The model's chat wrapper, resolved once per load (resolving a Jinja template is costly).
 * "auto" lets node-llama-cpp map the GGUF's template to a built-in wrapper when it
 * recognises it (ChatML, Llama 3, …: ~0.4 ms of JS per token) and otherwise render the
 * Jinja template itself (exact, but ~2 ms per token and slower first tokens); naming a
 * wrapper skips the guess. An unknown name fails the load: node-llama-cpp would quietly
 * fall back to "auto".
 */
async function chatWrapperFor(model: LlamaModel, spec: LocalModelSpec): Promise<ChatWrapper> {
  const n = await nodeLlamaCpp();
  const wanted = spec.chatTemplate?.trim();
  if (!wanted || wanted.toLowerCase() === "auto") {
    const wrapper = n.resolveChatWrapper(model);
    if (wrapper instanceof n.JinjaTemplateChatWrapper) {
      logger("inference").warn(`model ${spec.name}: rendering its Jinja chat template (no built-in wrapper matches); a matching --chat-template is faster`);
    }
    return wrapper;
  }
  const type = n.resolvableChatWrapperTypeNames.find((t) => t.toLowerCase() === wanted.toLowerCase());
  if (!type) throw new Error(`unknown chat template "${wanted}" (one of: ${n.resolvableChatWrapperTypeNames.join(", ")})`);
  return n.resolveChatWrapper(model, { type });
}

/**
 * A request's prompt as the model sees it: chat messages (with the offered tools) through
 * the model's chat template, or completion text after the BOS token, tokenized by the
 * model's tokenizer. Generation, its context check and count_tokens all count these tokens,
 * so a count equals the request's own prompt usage.
 */
export function renderPrompt(loaded: Loaded, req: GenerateRequest): Token[] {
  const { model } = loaded;
  if (req.mode === "chat") return loaded.chatWrapper!.generateContextState(chatContextInput(req)).contextText.tokenize(model.tokenizer);
  const text = model.tokenize(req.prompt ?? "", false);
  return model.tokens.bos != null ? [model.tokens.bos, ...text] : text;
}

/** The registered models by name. */
export class LocalModels {
  private readonly models = new Map<string, LocalModel>();

  /** Registers or replaces a model spec (replacing unloads the old one). */
  async register(spec: LocalModelSpec) {
    const old = this.models.get(spec.name);
    if (old && JSON.stringify(old.spec) === JSON.stringify(spec)) return;
    if (old) await old.unload();
    this.models.set(spec.name, new LocalModel(spec));
  }

  has(name: string) {
    return this.models.has(name);
  }

  /** The registered model, if any. */
  find(name: string): LocalModel | undefined {
    return this.models.get(name);
  }

  /** The registered model; an unknown name is the caller's 404. */
  get(name: string): LocalModel {
    const m = this.models.get(name);
    if (!m) throw new AppError("not_found", `The model '${name}' does not exist`, { code: "model_not_found", param: "model" });
    return m;
  }

  async load(name: string) {
    await this.get(name).ensureLoaded();
  }

  async unload(name: string) {
    await this.models.get(name)?.unload();
  }

  status(): LocalModelStatus[] {
    return [...this.models.values()].map((m) => m.status());
  }

  async close() {
    await Promise.all([...this.models.values()].map((m) => m.unload()));
  }
}
