/**
 * The in-process llama.cpp pool (node-llama-cpp). One loaded model = one context
 * with `parallel` sequences, so concurrent requests share decode batches; a
 * FairSlots queue in front of it bounds waiting and keeps tenants fair.
 *
 * Models load on first use (or at start-up with loadAtStartup). A model that fails
 * to load answers 503 with the reason and stays failed until reloaded; other models
 * keep serving. Every generation owns one sequence for its lifetime and disposes it
 * at the end — abort included — so its slot frees at once.
 */
import type {
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
  Token,
  TokenBias,
} from "node-llama-cpp";
import { AppError, Unavailable } from "../errors";
import { AsyncQueue } from "./async-queue";
import { FairSlots } from "./fair-queue";
import { cpuInfo, defaultThreads, type EngineChoice, loadedLlamaLibraries, loadLlama } from "./llama-runtime";
import { checkLocalRequest, endsWithToolResults, parseLogitBias, stopSequenceOf, toChatHistory, ToolCallEvents, toLocalFunctions } from "./local-tools";
import type { EmbedResult, FinishReason, GenerateEvent, GenerateRequest, InferenceEngine } from "./types";

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

interface Loaded {
  model: LlamaModel;
  chatWrapper?: ChatWrapper;
  context?: LlamaContext;
  embedding?: LlamaEmbeddingContext;
}

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

type NlcModule = typeof import("node-llama-cpp");
let nlc: Promise<NlcModule> | undefined;

// node-llama-cpp is ESM-only and heavy; load it on first use, not at import.
function lib(): Promise<NlcModule> {
  nlc ??= import("node-llama-cpp");
  return nlc;
}

let enginePromise: Promise<EngineChoice> | undefined;

function engineOnce(): Promise<EngineChoice> {
  enginePromise ??= lib()
    .then((m) =>
      loadLlama(m.getLlama, {
        gpu: process.env.LLAMA_GPU === "auto" ? "auto" : false,
        logLevel: m.LlamaLogLevel.error,
        // the Llama-wide cap; a model's own thread count above it is cut to it
        maxThreads: Math.max(defaultThreads(), cpuInfo().physicalCores),
      }),
    )
    .then((choice) => {
      // Said once, at load: on the prebuilt addon each decode runs on whichever libuv
      // thread is free, so a decode's OpenMP threads rarely stay one team (docs/benchmarks.md).
      if (choice.binary !== "native" && choice.llama.gpu === false && defaultThreads() > 1) {
        console.warn(
          `[inference] prebuilt llama.cpp with ${defaultThreads()} threads per model: extra threads gain little on it ` +
            `(${choice.fallbackReason ?? "no native build"}); \`npm run cli -- engine build\` makes one that uses them`,
        );
      }
      return choice;
    });
  return enginePromise;
}

function getLlamaOnce(): Promise<Llama> {
  return engineOnce().then((e) => e.llama);
}

export interface EngineInfo {
  binary: EngineChoice["binary"];
  fallbackReason: string | null;
  /** the llama-addon.node in use */
  addonPath: string | null;
  /** CPU backend libraries loaded at run time (empty: compiled into the addon, as in the native build) */
  cpuBackends: string[];
  llamaCppRelease: string;
  gpu: string | false;
  supportsGpuOffloading: boolean;
  cpu: { model: string; physicalCores: number; mathCores: number };
  /** threads a model without its own setting generates with */
  defaultThreads: number;
  maxThreads: number;
  /** CPU backend variant and features as llama.cpp reports them */
  systemInfo: string;
}

/** Loads the engine if needed and describes it (for `engine info` and diagnostics). */
export async function engineInfo(): Promise<EngineInfo> {
  const { llama, binary, fallbackReason } = await engineOnce();
  const libs = loadedLlamaLibraries();
  return {
    binary,
    fallbackReason,
    addonPath: libs.addon,
    cpuBackends: libs.cpuBackends,
    llamaCppRelease: llama.llamaCppRelease.release,
    gpu: llama.gpu,
    supportsGpuOffloading: llama.supportsGpuOffloading,
    cpu: { model: cpuInfo().model, physicalCores: cpuInfo().physicalCores, mathCores: llama.cpuMathCores },
    defaultThreads: defaultThreads(),
    maxThreads: llama.maxThreads,
    systemInfo: llama.systemInfo,
  };
}

export { defaultThreads };

const MAX_QUEUE = Math.max(1, Number(process.env.INFERENCE_MAX_QUEUE ?? 64) || 64);

class LocalModel {
  state: LocalModelState = "unloaded";
  error: string | null = null;
  loaded: Loaded | null = null;
  private loading: Promise<Loaded> | null = null;
  readonly slots: FairSlots;

  constructor(readonly spec: LocalModelSpec) {
    const slots = spec.kind === "embedding" ? 1 : Math.max(1, spec.parallel);
    this.slots = new FairSlots(slots, MAX_QUEUE, spec.name);
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
      const llama = await getLlamaOnce();
      const threads = this.spec.threads ?? defaultThreads();
      const model = await llama.loadModel({ modelPath: this.spec.path });
      const loaded: Loaded = { model };
      if (this.spec.kind === "embedding") {
        loaded.embedding = await model.createEmbeddingContext({
          contextSize: Math.min(this.spec.contextSize, model.trainContextSize),
          threads,
        });
      } else {
        loaded.chatWrapper = chatWrapperFor(await lib(), model, this.spec);
        loaded.context = await model.createContext({
          contextSize: Math.min(this.spec.contextSize * this.spec.parallel, model.trainContextSize * this.spec.parallel),
          sequences: Math.max(1, this.spec.parallel),
          threads,
          batchSize: Math.min(512, this.spec.contextSize),
        });
      }
      this.loaded = loaded;
      this.state = "ready";
      return loaded;
    } catch (e) {
      this.state = "failed";
      this.error = (e as Error).message.split("\n")[0] ?? "unknown error";
      this.loading = null;
      console.error(`[inference] model ${this.spec.name} failed to load: ${this.error}`);
      throw Unavailable(`Model ${this.spec.name} failed to load: ${this.error}`, "model_load_failed", 30);
    }
  }

  async unload() {
    const l = this.loaded;
    this.loaded = null;
    this.loading = null;
    this.state = "unloaded";
    this.error = null;
    this.slots.rejectAll(Unavailable(`Model ${this.spec.name} was unloaded`, "model_unloaded", 1));
    await l?.context?.dispose();
    await l?.embedding?.dispose();
    await l?.model.dispose();
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
function chatWrapperFor(n: NlcModule, model: LlamaModel, spec: LocalModelSpec): ChatWrapper {
  const wanted = spec.chatTemplate?.trim();
  if (!wanted || wanted.toLowerCase() === "auto") {
    const wrapper = n.resolveChatWrapper(model);
    if (wrapper instanceof n.JinjaTemplateChatWrapper) {
      console.warn(`[inference] model ${spec.name}: rendering its Jinja chat template (no built-in wrapper matches); a matching --chat-template is faster`);
    }
    return wrapper;
  }
  const type = n.resolvableChatWrapperTypeNames.find((t) => t.toLowerCase() === wanted.toLowerCase());
  if (!type) throw new Error(`unknown chat template "${wanted}" (one of: ${n.resolvableChatWrapperTypeNames.join(", ")})`);
  return n.resolveChatWrapper(model, { type });
}

/**
 * A disposed sequence returns its id asynchronously (under the context lock, which the
 * patched batch loop yields between batches), so a request that got a slot may briefly
 * find no free id: wait a tick and retry rather than fail. The deadline only catches a
 * context that never returns ids; one batch of prompt on a big model can take seconds.
 */
async function getSequence(context: LlamaContext, signal: AbortSignal, deadlineMs = 60_000) {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return context.getSequence();
    } catch (e) {
      if (Date.now() - started > deadlineMs || !/No sequences left/i.test((e as Error).message)) throw e;
      if (signal.aborted) throw signal.reason;
      await new Promise((r) => (attempt < 10 ? setImmediate(r) : setTimeout(r, 5)));
    }
  }
}

/**
 * The wrapper with generation starting inside a function call: its rendered state says
 * "function call initially engaged" with nothing that disengages it, so LlamaChat puts the
 * wrapper's call prefix (and section prefix) into the context and goes straight to the
 * name grammar (only the offered names), then the params grammar. That is node-llama-cpp's
 * own mechanism (FunctionaryChatWrapper uses it), works with every wrapper that has a
 * function-call syntax, and constrains name and arguments whatever the weights prefer.
 * Prefix/segment triggers of the wrapper (e.g. a thought segment first) are skipped.
 */
function forcedCallWrapper(base: ChatWrapper): ChatWrapper {
  const forced = Object.create(base) as ChatWrapper;
  forced.generateContextState = (options) => {
    const state = base.generateContextState(options);
    return {
      contextText: state.contextText,
      stopGenerationTriggers: state.stopGenerationTriggers,
      ignoreStartText: "ignoreStartText" in state ? state.ignoreStartText : undefined,
      functionCall: { initiallyEngaged: true, disengageInitiallyEngaged: [] },
    };
  };
  return forced;
}

/**
 * Counts the tokens the model samples on this sequence (what LlamaChat counts against
 * maxTokens): function-call tokens reach no onToken callback, and usage must still add up.
 * The sequence is this request's own (disposed after it), so wrapping its method is local.
 */
function countSampledTokens(sequence: LlamaContextSequence): { readonly count: number } {
  const counter = { count: 0 };
  const evaluate = sequence.evaluate.bind(sequence);
  sequence.evaluate = ((...args: Parameters<typeof evaluate>) => {
    const it = evaluate(...args);
    const next = it.next.bind(it);
    it.next = async (...a: Parameters<typeof next>) => {
      const r = await next(...a);
      if (!r.done) counter.count += 1;
      return r;
    };
    return it;
  }) as typeof sequence.evaluate;
  return counter;
}

export class LocalPool implements InferenceEngine {
  private readonly models = new Map<string, LocalModel>();
  /** every running or queued generation, so shutdown can end them all */
  private readonly running = new Set<AbortController>();

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

  async load(name: string) {
    await this.get(name).ensureLoaded();
  }

  async unload(name: string) {
    await this.models.get(name)?.unload();
  }

  status(): LocalModelStatus[] {
    return [...this.models.values()].map((m) => m.status());
  }

  /** The loaded generation context of a model, for diagnostics and for tests that instrument batching. */
  contextOf(name: string): LlamaContext | undefined {
    return this.models.get(name)?.loaded?.context;
  }

  async close() {
    await Promise.all([...this.models.values()].map((m) => m.unload()));
  }

  /** A chat model, loaded, with its chat wrapper: what local-count.ts renders and tokenizes a prompt with. */
  async chatModel(name: string): Promise<{ model: LlamaModel; chatWrapper: ChatWrapper }> {
    const m = this.get(name);
    if (m.spec.kind !== "chat") throw new AppError("invalid", `The model '${name}' is an embedding model`, { code: "model_not_supported", param: "model" });
    const { model, chatWrapper } = await m.ensureLoaded();
    return { model, chatWrapper: chatWrapper! };
  }

  private get(name: string): LocalModel {
    const m = this.models.get(name);
    if (!m) throw new AppError("not_found", `The model '${name}' does not exist`, { code: "model_not_found", param: "model" });
    return m;
  }

  generate(name: string, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    // node-llama-cpp's generation burst (patches/README.md) is internal: read, never written
    const bursting = () =>
      (this.models.get(name)?.loaded?.context as { _activeGenerationBurst?: unknown } | undefined)?._activeGenerationBurst != null;
    const out = new AsyncQueue<GenerateEvent>(bursting);
    const own = new AbortController();
    const forward = () => own.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener("abort", forward, { once: true });
    this.running.add(own);
    void this.run(name, req, own.signal, out)
      .then(
        // Aborted by us (shutdown), not by the caller: that is an error the caller must see.
        () => (own.signal.aborted && !signal.aborted ? out.fail(own.signal.reason) : out.end()),
        (e) => out.fail(e),
      )
      .finally(() => {
        this.running.delete(own);
        signal.removeEventListener("abort", forward);
      });
    return out;
  }

  /** Aborts every generation (shutdown): each stream ends as cancelled and is logged as such. */
  abortAll(reason: unknown = Unavailable("The server is shutting down", "shutting_down", 5)) {
    for (const c of this.running) c.abort(reason);
  }

  private async run(name: string, req: GenerateRequest, signal: AbortSignal, out: AsyncQueue<GenerateEvent>) {
    const m = this.get(name);
    if (m.spec.kind !== "chat") {
      throw new AppError("invalid", `The model '${name}' is an embedding model and cannot generate text`, {
        code: "model_not_supported",
        param: "model",
      });
    }
    // everything a request can get wrong is refused before it waits for a slot
    checkLocalRequest(name, req);
    const tooling = req.mode === "chat" ? toLocalFunctions(req) : undefined;
    const history = req.mode === "chat" ? toChatHistory(req.messages ?? []) : undefined;
    const { model, context } = await m.ensureLoaded();
    const tokenBias = req.logitBias && Object.keys(req.logitBias).length > 0 ? await this.tokenBiasFor(model, req.logitBias) : undefined;
    const release = await m.slots.acquire(req.tenantId, signal);
    let sequence: Awaited<ReturnType<typeof getSequence>> | undefined;
    try {
      sequence = await getSequence(context!, signal);
      const n = await lib();
      const grammar = await this.grammarFor(req);
      let pendingTokens = 0;
      let completionTokens = 0;
      const common = {
        signal,
        stopOnAbortSignal: true,
        maxTokens: req.maxTokens,
        temperature: req.temperature ?? 0,
        topP: req.topP,
        topK: req.topK,
        seed: req.seed,
        customStopTriggers: req.stop?.length ? req.stop : undefined,
        repeatPenalty:
          req.frequencyPenalty || req.presencePenalty
            ? { frequencyPenalty: req.frequencyPenalty || undefined, presencePenalty: req.presencePenalty || undefined, penalty: 1 }
            : (false as const),
        grammar,
        tokenBias,
        onToken: (tokens: Token[]) => {
          pendingTokens += tokens.length;
          completionTokens += tokens.length;
        },
        onTextChunk: (text: string) => {
          if (!text) return;
          out.push({ type: "delta", text, tokens: pendingTokens });
          pendingTokens = 0;
        },
      };
      let stopReason: string;
      let stopSequence: string | undefined;
      let promptTokens: number;
      let calledTools = false;
      if (req.mode === "chat") {
        const baseWrapper = m.loaded!.chatWrapper!;
        const functions = tooling?.functions;
        const chatWrapper = tooling?.force ? forcedCallWrapper(baseWrapper) : baseWrapper;
        const chat = new n.LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
        const continuesModelTurn = endsWithToolResults(history!);
        promptTokens = baseWrapper
          .generateContextState({
            chatHistory: continuesModelTurn ? history! : [...history!, { type: "model", response: [] }],
            availableFunctions: functions,
          })
          .contextText.tokenize(model.tokenizer).length;
        if (!functions) {
          const res = await chat.generateResponse(history!, common);
          stopReason = res.metadata.stopReason;
          stopSequence = stopSequenceOf(res.metadata, req.stop);
        } else {
          const sampled = countSampledTokens(sequence);
          const calls = new ToolCallEvents(tooling!, out, () => {
            // tokens sampled since the last event and not text (onToken counted those)
            const t = Math.max(0, sampled.count - completionTokens);
            completionTokens += t;
            return t;
          });
          const res = await chat
            .generateResponse(history!, {
              ...common,
              grammar: undefined,
              functions,
              // legacy function_call answers carry one call
              maxParallelFunctionCalls: req.parallelToolCalls === false || req.legacyFunctions ? 1 : undefined,
              onFunctionCallParamsChunk: (chunk) => calls.onParamsChunk(chunk),
              onFunctionCall: (call) => calls.onCall(call),
            })
            .catch((e: unknown) => {
              // inside a call, LlamaChat throws the abort instead of honouring stopOnAbortSignal
              if (signal.aborted) return null;
              throw e;
            });
          stopReason = res?.metadata.stopReason ?? "abort";
          if (res) stopSequence = stopSequenceOf(res.metadata, req.stop);
          calledTools = stopReason === "functionCalls" && calls.count > 0;
          // text tokens were counted by onToken; the rest (call syntax, end of turn) go on the last event
          const rest = Math.max(0, sampled.count - completionTokens);
          pendingTokens += rest;
          completionTokens += rest;
        }
        chat.dispose({ disposeSequence: false });
      } else {
        const completion = new n.LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
        promptTokens = model.tokenize(req.prompt ?? "", false).length + (model.tokens.bos != null ? 1 : 0);
        const res = await completion.generateCompletionWithMeta(req.prompt ?? "", common);
        stopReason = res.metadata.stopReason;
        stopSequence = stopSequenceOf(res.metadata, req.stop);
        completion.dispose({ disposeSequence: false });
      }
      if (signal.aborted || stopReason === "abort") return; // the caller counts what it saw
      if (pendingTokens > 0) out.push({ type: "delta", text: "", tokens: pendingTokens });
      const finishReason: FinishReason = calledTools ? "tool_calls" : stopReason === "maxTokens" ? "length" : "stop";
      out.push({ type: "done", finishReason, usage: { promptTokens, completionTokens }, ...(stopSequence !== undefined ? { stopSequence } : {}) });
    } finally {
      sequence?.dispose();
      release();
    }
  }

  private async tokenBiasFor(model: LlamaModel, bias: Record<string, number>): Promise<TokenBias> {
    const n = await lib();
    const vocab = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: readonly unknown[] } } }).tokenizer?.ggml?.tokens?.length;
    const tb = new n.TokenBias(model.tokenizer);
    for (const [token, b] of parseLogitBias(bias, vocab)) tb.set(token as Token, b === "never" ? "never" : { logit: b });
    return tb;
  }

  private async grammarFor(req: GenerateRequest): Promise<LlamaGrammar | undefined> {
    if (!req.grammar) return undefined;
    const llama = await getLlamaOnce();
    if (req.grammar.type === "json_object") return llama.getGrammarFor("json");
    try {
      return await llama.createGrammarForJsonSchema(req.grammar.schema as never);
    } catch (e) {
      throw new AppError("invalid", `response_format.json_schema.schema is not supported: ${(e as Error).message}`, {
        code: "invalid_json_schema",
        param: "response_format",
      });
    }
  }

  async embed(name: string, inputs: string[], tenantId: string, signal: AbortSignal): Promise<EmbedResult> {
    const m = this.get(name);
    if (m.spec.kind !== "embedding") {
      throw new AppError("invalid", `The model '${name}' is a chat model; use an embedding model`, {
        code: "model_not_supported",
        param: "model",
      });
    }
    const { model, embedding } = await m.ensureLoaded();
    const release = await m.slots.acquire(tenantId, signal);
    try {
      const vectors: number[][] = [];
      let promptTokens = 0;
      for (const input of inputs) {
        if (signal.aborted) throw signal.reason;
        const tokens = model.tokenize(input);
        if (tokens.length > embedding!.model.trainContextSize) {
          throw new AppError("invalid", `An input is ${tokens.length} tokens, more than the model's context`, {
            code: "context_length_exceeded",
            param: "input",
          });
        }
        promptTokens += tokens.length;
        const e = await embedding!.getEmbeddingFor(tokens);
        vectors.push([...e.vector]);
      }
      return { vectors, usage: { promptTokens } };
    } finally {
      release();
    }
  }
}
