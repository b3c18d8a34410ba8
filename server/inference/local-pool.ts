/**
 * The in-process llama.cpp pool (node-llama-cpp). One loaded model = one context
 * with `parallel` sequences, so concurrent requests share decode batches; a
 * FairSlots queue in front of it bounds waiting and keeps tenants fair.
 *
 * Models load on first use (or at start-up with loadAtStartup). A model that fails
 * to load answers 503 with the reason and stays failed until reloaded; other models
 * keep serving.
 *
 * Prompt cache: a model's sequences stay alive between requests as slots that remember
 * their tokens (up to `parallel` of them). A request runs on the free slot of its own
 * tenant (or API key, LOCAL_PROMPT_CACHE=key) sharing the longest prefix with its rendered
 * prompt (prompt-slots.ts); LlamaChat / LlamaCompletion align the sequence with the new
 * prompt themselves (`adaptStateToTokens`), so only the differing suffix is evaluated, and
 * leave the answer's tokens in the slot for the next turn. Another tenant's slot is erased
 * before use: never a shared prefix across tenants (a timing side channel).
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
import { inferenceEnv } from "../env";
import { AppError, Unavailable } from "../errors";
import { metrics } from "../metrics/metrics";
import { AsyncQueue } from "./async-queue";
import { type AutoBuildStatus, readAutoBuildStatus } from "./auto-build";
import { FairSlots } from "./fair-queue";
import { cpuInfo, defaultThreads, type EngineChoice, loadedLlamaLibraries, loadLlama, nativeBuildVerdict, readNativeBuildRecord } from "./llama-runtime";
import { checkLocalRequest, endsWithToolResults, parseLogitBias, stopSequenceOf, toChatHistory, ToolCallEvents, toLocalFunctions } from "./local-tools";
import { cacheOwner, chooseSlot, promptCacheSettings } from "./prompt-slots";
import type { EmbedResult, FinishReason, GenerateEvent, GenerateRequest, InferenceEngine } from "./types";
import { logger } from "../log/logger";

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

/** A kept sequence and whose tokens it holds (prompt-slots.ts). */
interface KvSlot {
  sequence: LlamaContextSequence;
  /** the cache owner of its tokens; null: nobody's (erased, or caching off) */
  owner: string | null;
  busy: boolean;
  lastUsed: number;
}

let useClock = 0;

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
let engineLoaded: EngineChoice | undefined;

function engineOnce(): Promise<EngineChoice> {
  enginePromise ??= lib()
    .then((m) =>
      loadLlama(m.getLlama, {
        gpu: inferenceEnv().LLAMA_GPU,
        logLevel: m.LlamaLogLevel.error,
        // the Llama-wide cap; a model's own thread count above it is cut to it
        maxThreads: Math.max(defaultThreads(), cpuInfo().physicalCores),
      }),
    )
    .then((choice) => {
      engineLoaded = choice;
      // Said once, at load: which engine, and why not the native one.
      if (choice.binary !== "native" && choice.llama.gpu === false) {
        logger("inference").warn(
          `prebuilt llama.cpp, ${defaultThreads(choice.binary, choice.llama.gpu)} thread(s) per model by default ` +
            `(${choice.fallbackReason ?? "no native build"}); a native build (\`npm run cli -- engine build\`, or the background ` +
            `build at start-up) is used from the next start`,
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
  /** the background native build started at start-up (auto-build.ts), if any */
  autoBuild: AutoBuildStatus | null;
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
    defaultThreads: defaultThreads(binary, llama.gpu),
    autoBuild: readAutoBuildStatus(),
    maxThreads: llama.maxThreads,
    systemInfo: llama.systemInfo,
  };
}

export { defaultThreads };

export interface EngineStatus {
  /** the engine in use; null until the first model loads it */
  binary: EngineChoice["binary"] | null;
  fallbackReason: string | null;
  defaultThreads: number | null;
  /** a native build usable on this CPU exists (in use from the next start if `binary` is not "native") */
  nativeBuildReady: boolean;
  autoBuild: AutoBuildStatus | null;
}

/** What the console shows about the engine, without loading it. */
export function engineStatus(): EngineStatus {
  return {
    binary: engineLoaded?.binary ?? null,
    fallbackReason: engineLoaded?.fallbackReason ?? null,
    defaultThreads: engineLoaded ? defaultThreads(engineLoaded.binary, engineLoaded.llama.gpu) : null,
    nativeBuildReady: nativeBuildVerdict(readNativeBuildRecord(), cpuInfo()).use,
    autoBuild: readAutoBuildStatus(),
  };
}

const MAX_QUEUE = inferenceEnv().INFERENCE_MAX_QUEUE;

class LocalModel {
  state: LocalModelState = "unloaded";
  error: string | null = null;
  loaded: Loaded | null = null;
  private loading: Promise<Loaded> | null = null;
  readonly slots: FairSlots;
  /** kept sequences of the loaded context (at most `parallel`) */
  kv: KvSlot[] = [];
  /** sequences being created for a slot (counted against `parallel` before they exist) */
  kvCreating = 0;

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
      const engine = await engineOnce();
      const threads = this.spec.threads ?? defaultThreads(engine.binary, engine.llama.gpu);
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
          // per sequence: node-llama-cpp allocates contextSize cells for each of the sequences
          contextSize: Math.min(this.spec.contextSize, model.trainContextSize),
          sequences: Math.max(1, this.spec.parallel),
          threads,
          batchSize: Math.min(512, this.spec.contextSize),
          // the patch's generation bursts (patches/README.md); SWITCHYARD_GENERATION_BURST=0 turns them off
          generationBurst: inferenceEnv().SWITCHYARD_GENERATION_BURST,
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
    this.kv = [];
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
function chatWrapperFor(n: NlcModule, model: LlamaModel, spec: LocalModelSpec): ChatWrapper {
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
 * Watches one request's use of a kept sequence: where its first evaluation starts (the
 * prefix LlamaChat/LlamaCompletion kept from the slot's cache, i.e. the cached prompt
 * tokens) and how many tokens the model samples (what LlamaChat counts against maxTokens:
 * function-call tokens reach no onToken callback, and usage must still add up). The
 * sequence outlives the request, so `end()` takes the wrapper off again.
 */
function probeSequence(sequence: LlamaContextSequence): { readonly sampled: number; readonly reusedPrefix: number | null; end(): void } {
  const probe = { sampled: 0, reusedPrefix: null as number | null, end: () => void delete (sequence as { evaluate?: unknown }).evaluate };
  const evaluate = sequence.evaluate.bind(sequence);
  sequence.evaluate = ((...args: Parameters<typeof evaluate>) => {
    probe.reusedPrefix ??= sequence.nextTokenIndex;
    const it = evaluate(...args);
    const next = it.next.bind(it);
    it.next = async (...a: Parameters<typeof next>) => {
      const r = await next(...a);
      if (!r.done) probe.sampled += 1;
      return r;
    };
    return it;
  }) as typeof sequence.evaluate;
  return probe;
}

/** node-llama-cpp's errors for a context that cannot hold the conversation (context shift impossible). */
const CONTEXT_FULL = /compress chat history|context size is too small|too long prompt/i;

export function contextLengthExceeded(promptTokens: number, maxTokens: number | undefined, limit: number, param: string): AppError {
  const message =
    maxTokens === undefined || promptTokens >= limit
      ? `This model's maximum context length is ${limit} tokens, but the prompt is ${promptTokens} tokens. Shorten the ${param === "prompt" ? "prompt" : "messages"}.`
      : `This model's maximum context length is ${limit} tokens, but ${promptTokens + maxTokens} tokens were requested (${promptTokens} in the prompt, ${maxTokens} for the completion). Shorten the ${param === "prompt" ? "prompt" : "messages"} or lower max_tokens.`;
  return new AppError("invalid", message, { code: "context_length_exceeded", param: maxTokens !== undefined && promptTokens < limit ? "max_tokens" : param });
}

/**
 * The completion budget of a request that fits: its max_tokens, or what is left of the
 * context (generation then ends with finish "length" at the context's end instead of
 * shifting it). A prompt at or over the context, or prompt + max_tokens over it, is refused.
 */
function fitContext(promptTokens: number, req: GenerateRequest, limit: number): number {
  const param = req.mode === "chat" ? "messages" : "prompt";
  if (promptTokens >= limit || (req.maxTokens !== undefined && promptTokens + req.maxTokens > limit)) {
    throw contextLengthExceeded(promptTokens, req.maxTokens, limit, param);
  }
  return req.maxTokens ?? limit - promptTokens;
}

export class LocalPool implements InferenceEngine {
  private readonly models = new Map<string, LocalModel>();
  /** every running or queued generation, so shutdown can end them all */
  private readonly running = new Set<AbortController>();
  private readonly rendered = new WeakMap<GenerateRequest, { model: LlamaModel; tokens: Token[] }>();

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

  /**
   * Refuses, before any generation and before a stream starts, what the model can tell is
   * wrong with a request: the checks of the run itself, and a prompt (after the chat
   * template) or prompt + max_tokens that does not fit the context (400
   * `context_length_exceeded`, both numbers named). The gateway core calls it while
   * planning; a model that cannot load is left to the run (which may fall back).
   */
  async check(name: string, req: GenerateRequest): Promise<void> {
    const m = this.models.get(name);
    if (!m || m.spec.kind !== "chat") return;
    checkLocalRequest(name, req);
    let loaded: Loaded;
    try {
      loaded = await m.ensureLoaded();
    } catch {
      return;
    }
    fitContext(this.promptTokens(m, loaded, req).length, req, m.contextLimit());
  }

  /** The rendered prompt's tokens (tokenized once per request: `check` and the run share them). */
  private promptTokens(m: LocalModel, loaded: Loaded, req: GenerateRequest): Token[] {
    const hit = this.rendered.get(req);
    if (hit && hit.model === loaded.model) return hit.tokens;
    const { model } = loaded;
    let tokens: Token[];
    if (req.mode === "chat") {
      const history = toChatHistory(req.messages ?? []);
      const tooling = toLocalFunctions(req);
      tokens = m.loaded!.chatWrapper!
        .generateContextState({
          chatHistory: endsWithToolResults(history) ? history : [...history, { type: "model", response: [] }],
          availableFunctions: tooling?.functions,
        })
        .contextText.tokenize(model.tokenizer);
    } else {
      const text = model.tokenize(req.prompt ?? "", false);
      tokens = model.tokens.bos != null ? [model.tokens.bos, ...text] : text;
    }
    this.rendered.set(req, { model, tokens });
    return tokens;
  }

  /** Drops the kept sequences no request is using (their cached prompts go with them). */
  async releaseIdleSlots(name: string) {
    const m = this.models.get(name);
    if (!m) return;
    const idle = m.kv.filter((s) => !s.busy);
    m.kv = m.kv.filter((s) => s.busy);
    for (const s of idle) s.sequence.dispose();
    await new Promise((r) => setImmediate(r)); // a disposed sequence returns its id asynchronously
  }

  /** The slot a request runs on, its tokens erased first unless they are the request's owner's to reuse. */
  private async takeSlot(m: LocalModel, context: LlamaContext, req: GenerateRequest, prompt: Token[], signal: AbortSignal): Promise<KvSlot> {
    const settings = promptCacheSettings();
    const owner = cacheOwner(settings, req.tenantId, req.apiKeyId);
    const parallel = Math.max(1, m.spec.parallel);
    const views = m.kv.map((s) => ({ owner: s.owner, busy: s.busy, lastUsed: s.lastUsed, tokens: s.busy ? [] : s.sequence.contextTokens }));
    const choice = chooseSlot(views, owner, prompt, settings.similarity, m.kv.length + m.kvCreating < parallel);
    if (!choice) throw Unavailable(`Model ${m.spec.name} has no free sequence`, "model_overloaded", 1);
    if (choice.kind === "new") {
      m.kvCreating++;
      try {
        const slot: KvSlot = { sequence: await getSequence(context, signal), owner, busy: true, lastUsed: ++useClock };
        m.kv.push(slot);
        return slot;
      } finally {
        m.kvCreating--;
      }
    }
    const slot = m.kv[choice.index]!;
    slot.busy = true; // before the first await: nobody else may pick it
    try {
      if (!choice.keep && slot.sequence.nextTokenIndex > 0) await slot.sequence.clearHistory();
    } catch (e) {
      slot.busy = false;
      throw e;
    }
    slot.owner = owner;
    return slot;
  }

  /** After a failed (not aborted) run its tokens are not trusted: erase them, or drop the sequence. */
  private async settleSlot(m: LocalModel, slot: KvSlot, failed: boolean) {
    if (failed) {
      slot.owner = null;
      try {
        await slot.sequence.clearHistory();
      } catch {
        m.kv = m.kv.filter((s) => s !== slot);
        if (!slot.sequence.disposed) slot.sequence.dispose();
        return;
      }
    }
    slot.lastUsed = ++useClock;
    slot.busy = false;
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
    const loaded = await m.ensureLoaded();
    const { model, context } = loaded;
    const prompt = this.promptTokens(m, loaded, req);
    const promptTokens = prompt.length;
    const maxTokens = fitContext(promptTokens, req, m.contextLimit());
    const tokenBias = req.logitBias && Object.keys(req.logitBias).length > 0 ? await this.tokenBiasFor(model, req.logitBias) : undefined;
    const release = await m.slots.acquire(req.tenantId, signal);
    let slot: KvSlot | undefined;
    let failed = false;
    try {
      slot = await this.takeSlot(m, context!, req, prompt, signal);
      const sequence = slot.sequence;
      const n = await lib();
      const grammar = await this.grammarFor(req);
      let pendingTokens = 0;
      let completionTokens = 0;
      let produced = false;
      const common = {
        signal,
        stopOnAbortSignal: true,
        maxTokens,
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
          produced = true;
          out.push({ type: "delta", text, tokens: pendingTokens });
          pendingTokens = 0;
        },
      };
      // The context ran full where node-llama-cpp cannot shift it (e.g. one message longer than
      // the context): before any output that is the caller's 400, after it the answer is cut.
      const contextFull = (e: unknown): { metadata: { stopReason: string } } => {
        if (signal.aborted || !CONTEXT_FULL.test((e as Error)?.message ?? "")) throw e;
        if (!produced) throw contextLengthExceeded(promptTokens, req.maxTokens, m.contextLimit(), req.mode === "chat" ? "messages" : "prompt");
        return { metadata: { stopReason: "maxTokens" } };
      };
      let stopReason: string;
      let stopSequence: string | undefined;
      let calledTools = false;
      const probe = probeSequence(sequence);
      try {
        if (req.mode === "chat") {
          const baseWrapper = m.loaded!.chatWrapper!;
          const functions = tooling?.functions;
          const chatWrapper = tooling?.force ? forcedCallWrapper(baseWrapper) : baseWrapper;
          const chat = new n.LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
          try {
            if (!functions) {
              const res = await chat.generateResponse(history!, common).catch(contextFull);
              stopReason = res.metadata.stopReason;
              stopSequence = stopSequenceOf(res.metadata, req.stop);
            } else {
              const calls = new ToolCallEvents(tooling!, out, () => {
                produced = true;
                // tokens sampled since the last event and not text (onToken counted those)
                const t = Math.max(0, probe.sampled - completionTokens);
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
                  return contextFull(e);
                });
              stopReason = res?.metadata.stopReason ?? "abort";
              if (res) stopSequence = stopSequenceOf(res.metadata, req.stop);
              calledTools = stopReason === "functionCalls" && calls.count > 0;
              // text tokens were counted by onToken; the rest (call syntax, end of turn) go on the last event
              const rest = Math.max(0, probe.sampled - completionTokens);
              pendingTokens += rest;
              completionTokens += rest;
            }
          } finally {
            chat.dispose({ disposeSequence: false });
          }
        } else {
          const completion = new n.LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
          try {
            const res = await completion.generateCompletionWithMeta(req.prompt ?? "", common).catch(contextFull);
            stopReason = res.metadata.stopReason;
            stopSequence = stopSequenceOf(res.metadata, req.stop);
          } finally {
            completion.dispose({ disposeSequence: false });
          }
        }
      } finally {
        probe.end();
      }
      // the prefix kept from the slot (LlamaChat re-evaluates at least the prompt's last token)
      const cachedPromptTokens = Math.min(probe.reusedPrefix ?? 0, promptTokens);
      metrics().promptCacheTokens.inc({ result: "hit", model: name }, cachedPromptTokens);
      metrics().promptCacheTokens.inc({ result: "miss", model: name }, promptTokens - cachedPromptTokens);
      if (signal.aborted || stopReason === "abort") return; // the caller counts what it saw
      if (pendingTokens > 0) out.push({ type: "delta", text: "", tokens: pendingTokens });
      const finishReason: FinishReason = calledTools ? "tool_calls" : stopReason === "maxTokens" ? "length" : "stop";
      out.push({
        type: "done",
        finishReason,
        usage: { promptTokens, completionTokens, cachedPromptTokens },
        ...(stopSequence !== undefined ? { stopSequence } : {}),
      });
    } catch (e) {
      failed = !signal.aborted;
      throw e;
    } finally {
      if (slot) await this.settleSlot(m, slot, failed);
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
