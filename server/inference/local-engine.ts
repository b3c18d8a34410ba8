/**
 * The llama.cpp engine under the local pool: node-llama-cpp and its Llama, loaded once
 * (which binary, how many threads), each model's fair request queue, the kept sequences a
 * model's requests run on (prompt-cache slots, chosen by prompt-slots.ts), and the objects a
 * request needs from the Llama (grammar, token bias).
 *
 * This is also the one module that reaches past node-llama-cpp's public options — into
 * what our patch (patches/README.md) and node-llama-cpp's internals do: the generation
 * burst's state, a sequence's evaluation (to count reused prefix and sampled tokens), the
 * asynchronously returned sequence ids, LlamaChat's "function call initially engaged"
 * state, and its error texts for a full context. Keep it that way: an upgrade of
 * node-llama-cpp is then checked here (and by the batching, burst and prompt-cache tests).
 */
import type { ChatWrapper, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel, Token, TokenBias } from "node-llama-cpp";
import { inferenceEnv } from "../env";
import { AppError, Unavailable } from "../errors";
import { logger } from "../log/logger";
import { processSlot } from "../runtime/registry";
import { type AutoBuildStatus, readAutoBuildStatus } from "./auto-build";
import { FairSlots } from "./fair-queue";
import { cpuInfo, defaultThreads, type EngineChoice, loadedLlamaLibraries, loadLlama, nativeBuildVerdict, readNativeBuildRecord } from "./llama-runtime";
import type { GrammarChoice } from "./local-options";
import { cacheOwner, chooseSlot, promptCacheSettings } from "./prompt-slots";
import type { GenerateRequest } from "./types";

type NlcModule = typeof import("node-llama-cpp");

interface EngineState {
  nlc?: Promise<NlcModule>;
  promise?: Promise<EngineChoice>;
  loaded?: EngineChoice;
  /** the LRU clock of the prompt-cache slots */
  useClock: number;
}
// One engine per process: the console's bundle (engine status) must see the Llama the /v1 bundle loaded.
const engine = processSlot<EngineState>("inference.engine", () => ({ useClock: 0 }));

/** node-llama-cpp itself; it is ESM-only and heavy, so loaded on first use, not at import. */
export function nodeLlamaCpp(): Promise<NlcModule> {
  const e = engine.get();
  e.nlc ??= import("node-llama-cpp");
  return e.nlc;
}

function engineOnce(): Promise<EngineChoice> {
  const e = engine.get();
  e.promise ??= nodeLlamaCpp()
    .then((m) =>
      loadLlama(m.getLlama, {
        gpu: inferenceEnv().LLAMA_GPU,
        logLevel: m.LlamaLogLevel.error,
        // the Llama-wide cap; a model's own thread count above it is cut to it
        maxThreads: Math.max(defaultThreads(), cpuInfo().physicalCores),
      }),
    )
    .then((choice) => {
      e.loaded = choice;
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
  return e.promise;
}

/** The process's Llama (loading the engine on first use). */
export function llama(): Promise<Llama> {
  return engineOnce().then((e) => e.llama);
}

/** The threads a model generates with: its own setting, else the engine's default. */
export async function modelThreads(threads: number | null | undefined): Promise<number> {
  const engine = await engineOnce();
  return threads ?? defaultThreads(engine.binary, engine.llama.gpu);
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
  const engineLoaded = engine.peek()?.loaded;
  return {
    binary: engineLoaded?.binary ?? null,
    fallbackReason: engineLoaded?.fallbackReason ?? null,
    defaultThreads: engineLoaded ? defaultThreads(engineLoaded.binary, engineLoaded.llama.gpu) : null,
    nativeBuildReady: nativeBuildVerdict(readNativeBuildRecord(), cpuInfo()).use,
    autoBuild: readAutoBuildStatus(),
  };
}

const MAX_QUEUE = inferenceEnv().INFERENCE_MAX_QUEUE;

/** A model's request queue: `slots` requests run at once, the others wait fairly across tenants. */
export function requestQueue(name: string, slots: number): FairSlots {
  return new FairSlots(slots, MAX_QUEUE, name);
}

/** A kept sequence and whose tokens it holds (prompt-slots.ts). */
export interface KvSlot {
  sequence: LlamaContextSequence;
  /** the cache owner of its tokens; null: nobody's (erased, or caching off) */
  owner: string | null;
  busy: boolean;
  lastUsed: number;
}


/**
 * The kept sequences of one loaded context (at most `parallel`): a request takes the one
 * prompt-slots.ts chooses, and leaves its tokens there for the owner's next request.
 */
export class SequenceSlots {
  kv: KvSlot[] = [];
  /** sequences being created for a slot (counted against `parallel` before they exist) */
  private creating = 0;

  constructor(
    private readonly model: string,
    private readonly parallel: number,
  ) {}

  /** The slot a request runs on, its tokens erased first unless they are the request's owner's to reuse. */
  async take(context: LlamaContext, req: GenerateRequest, prompt: Token[], signal: AbortSignal): Promise<KvSlot> {
    const settings = promptCacheSettings();
    const owner = cacheOwner(settings, req.tenantId, req.apiKeyId);
    const parallel = Math.max(1, this.parallel);
    const views = this.kv.map((s) => ({ owner: s.owner, busy: s.busy, lastUsed: s.lastUsed, tokens: s.busy ? [] : s.sequence.contextTokens }));
    const choice = chooseSlot(views, owner, prompt, settings.similarity, this.kv.length + this.creating < parallel);
    if (!choice) throw Unavailable(`Model ${this.model} has no free sequence`, "model_overloaded", 1);
    if (choice.kind === "new") {
      this.creating++;
      try {
        const slot: KvSlot = { sequence: await getSequence(context, signal), owner, busy: true, lastUsed: ++engine.get().useClock };
        this.kv.push(slot);
        return slot;
      } finally {
        this.creating--;
      }
    }
    const slot = this.kv[choice.index]!;
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
  async settle(slot: KvSlot, failed: boolean) {
    if (failed) {
      slot.owner = null;
      try {
        await slot.sequence.clearHistory();
      } catch {
        this.kv = this.kv.filter((s) => s !== slot);
        if (!slot.sequence.disposed) slot.sequence.dispose();
        return;
      }
    }
    slot.lastUsed = ++engine.get().useClock;
    slot.busy = false;
  }

  /** Drops the kept sequences no request is using (their cached prompts go with them). */
  async releaseIdle() {
    const idle = this.kv.filter((s) => !s.busy);
    this.kv = this.kv.filter((s) => s.busy);
    for (const s of idle) s.sequence.dispose();
    await new Promise((r) => setImmediate(r)); // a disposed sequence returns its id asynchronously
  }

  /** Forgets every slot (the context is going away and takes its sequences with it). */
  forget() {
    this.kv = [];
  }
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

/** Whether the context is in a generation burst (the patch's C++ loop; internal: read, never written). */
/** The patch's options for a new context (patches/README.md); SWITCHYARD_GENERATION_BURST=0 turns bursts off. */
export function patchedContextOptions(): { generationBurst: boolean } {
  return { generationBurst: inferenceEnv().SWITCHYARD_GENERATION_BURST };
}

export function generationBursting(context: LlamaContext | undefined): boolean {
  return (context as { _activeGenerationBurst?: unknown } | undefined)?._activeGenerationBurst != null;
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
export function forcedCallWrapper(base: ChatWrapper): ChatWrapper {
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
export function probeSequence(sequence: LlamaContextSequence): { readonly sampled: number; readonly reusedPrefix: number | null; end(): void } {
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

export function isContextFull(e: unknown): boolean {
  return CONTEXT_FULL.test((e as Error)?.message ?? "");
}

/** The grammar `response_format` asks for; a JSON schema node-llama-cpp cannot compile is the caller's 400. */
export async function grammarFor(choice: GrammarChoice | undefined): Promise<LlamaGrammar | undefined> {
  if (!choice) return undefined;
  const l = await llama();
  if (choice.kind === "json") return l.getGrammarFor("json");
  try {
    return await l.createGrammarForJsonSchema(choice.schema as never);
  } catch (e) {
    throw new AppError("invalid", `response_format.json_schema.schema is not supported: ${(e as Error).message}`, {
      code: "invalid_json_schema",
      param: "response_format",
    });
  }
}

/** A request's logit_bias entries (local-options.ts `tokenBiasEntries`) on the model's tokenizer. */
export async function tokenBiasFor(model: LlamaModel, entries: readonly [token: number, bias: number | "never"][]): Promise<TokenBias> {
  const n = await nodeLlamaCpp();
  const tb = new n.TokenBias(model.tokenizer);
  for (const [token, b] of entries) tb.set(token as Token, b === "never" ? "never" : { logit: b });
  return tb;
}
