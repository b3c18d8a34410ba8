/**
 * The in-process llama.cpp pool (node-llama-cpp), the InferenceEngine of local models:
 * a request is checked, waits in its model's fair queue, runs on a kept sequence of the
 * model's context and streams GenerateEvents. The pieces live beside it:
 *
 * - local-engine.ts   node-llama-cpp's Llama (binary, threads), the fair queue, the kept
 *                     sequences (slots), and every reach into node-llama-cpp's internals
 * - local-models.ts   the models' lifecycle (register, load, unload, status) and the prompt
 *                     rendering
 * - local-options.ts  the request as node-llama-cpp options (pure)
 *
 * Prompt cache: a model's sequences stay alive between requests as slots that remember
 * their tokens (up to `parallel` of them). A request runs on the free slot of its own
 * tenant (or API key, LOCAL_PROMPT_CACHE=key) sharing the longest prefix with its rendered
 * prompt (prompt-slots.ts); LlamaChat / LlamaCompletion align the sequence with the new
 * prompt themselves (`adaptStateToTokens`), so only the differing suffix is evaluated, and
 * leave the answer's tokens in the slot for the next turn. Another tenant's slot is erased
 * before use: never a shared prefix across tenants (a timing side channel).
 */
import type { LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { AppError, Unavailable } from "../errors";
import { metrics } from "../metrics/metrics";
import { AsyncQueue } from "./async-queue";
import { forcedCallWrapper, generationBursting, grammarFor, isContextFull, type KvSlot, nodeLlamaCpp, probeSequence, tokenBiasFor } from "./local-engine";
import { type Loaded, LocalModels, type LocalModelSpec, type LocalModelStatus, renderPrompt } from "./local-models";
import { chatInput, contextLengthExceeded, finishReasonOf, fitContext, grammarChoice, promptParam, samplingOptions, tokenBiasEntries } from "./local-options";
import { checkLocalRequest, stopSequenceOf, ToolCallEvents } from "./local-tools";
import type { EmbedResult, GenerateEvent, GenerateRequest, InferenceEngine } from "./types";

export type { LocalModelSpec, LocalModelState, LocalModelStatus } from "./local-models";

export class LocalPool implements InferenceEngine {
  private readonly models = new LocalModels();
  /** every running or queued generation, so shutdown can end them all */
  private readonly running = new Set<AbortController>();
  private readonly rendered = new WeakMap<GenerateRequest, { model: LlamaModel; tokens: Token[] }>();

  /** Registers or replaces a model spec (replacing unloads the old one). */
  async register(spec: LocalModelSpec) {
    await this.models.register(spec);
  }

  has(name: string) {
    return this.models.has(name);
  }

  async load(name: string) {
    await this.models.load(name);
  }

  async unload(name: string) {
    await this.models.unload(name);
  }

  status(): LocalModelStatus[] {
    return this.models.status();
  }

  /** The loaded generation context of a model, for diagnostics and for tests that instrument batching. */
  contextOf(name: string): LlamaContext | undefined {
    return this.models.find(name)?.loaded?.context;
  }

  async close() {
    await this.models.close();
  }

  /**
   * Exact prompt tokens of a chat request (Anthropic's count_tokens): the same checks and
   * the same rendering as its generation, so the count equals its usage's prompt tokens.
   */
  async countPromptTokens(name: string, req: GenerateRequest): Promise<number> {
    checkLocalRequest(name, req);
    chatInput(req); // a bad tool or history is the caller's 400 before the model loads, as in the run
    const m = this.models.get(name);
    if (m.spec.kind !== "chat") throw new AppError("invalid", `The model '${name}' is an embedding model`, { code: "model_not_supported", param: "model" });
    const loaded = await m.ensureLoaded();
    return this.promptTokens(loaded, req).length;
  }

  generate(name: string, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    const out = new AsyncQueue<GenerateEvent>(() => generationBursting(this.contextOf(name)));
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
    const m = this.models.find(name);
    if (!m || m.spec.kind !== "chat") return;
    checkLocalRequest(name, req);
    let loaded: Loaded;
    try {
      loaded = await m.ensureLoaded();
    } catch {
      return;
    }
    fitContext(this.promptTokens(loaded, req).length, req, m.contextLimit());
  }

  /** The rendered prompt's tokens (rendered once per request: `check` and the run share them). */
  private promptTokens(loaded: Loaded, req: GenerateRequest): Token[] {
    const hit = this.rendered.get(req);
    if (hit && hit.model === loaded.model) return hit.tokens;
    const tokens = renderPrompt(loaded, req);
    this.rendered.set(req, { model: loaded.model, tokens });
    return tokens;
  }

  /** Drops the kept sequences no request is using (their cached prompts go with them). */
  async releaseIdleSlots(name: string) {
    await this.models.find(name)?.kv.releaseIdle();
  }

  private async run(name: string, req: GenerateRequest, signal: AbortSignal, out: AsyncQueue<GenerateEvent>) {
    const m = this.models.get(name);
    if (m.spec.kind !== "chat") {
      throw new AppError("invalid", `The model '${name}' is an embedding model and cannot generate text`, {
        code: "model_not_supported",
        param: "model",
      });
    }
    // everything a request can get wrong is refused before it waits for a slot
    checkLocalRequest(name, req);
    const input = req.mode === "chat" ? chatInput(req) : undefined;
    const loaded = await m.ensureLoaded();
    const { model, context } = loaded;
    const prompt = this.promptTokens(loaded, req);
    const promptTokens = prompt.length;
    const maxTokens = fitContext(promptTokens, req, m.contextLimit());
    const biasEntries = tokenBiasEntries(req, model.fileInfo.metadata);
    const tokenBias = biasEntries ? await tokenBiasFor(model, biasEntries) : undefined;
    const release = await m.slots.acquire(req.tenantId, signal);
    let slot: KvSlot | undefined;
    let failed = false;
    try {
      slot = await m.kv.take(context!, req, prompt, signal);
      const sequence = slot.sequence;
      const n = await nodeLlamaCpp();
      const grammar = await grammarFor(grammarChoice(req.grammar));
      let pendingTokens = 0;
      let completionTokens = 0;
      let produced = false;
      const common = {
        signal,
        stopOnAbortSignal: true,
        ...samplingOptions(req, maxTokens),
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
        if (signal.aborted || !isContextFull(e)) throw e;
        if (!produced) throw contextLengthExceeded(promptTokens, req.maxTokens, m.contextLimit(), promptParam(req));
        return { metadata: { stopReason: "maxTokens" } };
      };
      let stopReason: string;
      let stopSequence: string | undefined;
      let calledTools = false;
      const probe = probeSequence(sequence);
      try {
        if (input) {
          const baseWrapper = loaded.chatWrapper!;
          const chatWrapper = input.force ? forcedCallWrapper(baseWrapper) : baseWrapper;
          const chat = new n.LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
          try {
            if (!input.functions) {
              const res = await chat.generateResponse(input.history, common).catch(contextFull);
              stopReason = res.metadata.stopReason;
              stopSequence = stopSequenceOf(res.metadata, req.stop);
            } else {
              const calls = new ToolCallEvents(input.tooling, out, () => {
                produced = true;
                // tokens sampled since the last event and not text (onToken counted those)
                const t = Math.max(0, probe.sampled - completionTokens);
                completionTokens += t;
                return t;
              });
              const res = await chat
                .generateResponse(input.history, {
                  ...common,
                  grammar: undefined,
                  functions: input.functions,
                  maxParallelFunctionCalls: input.maxParallelFunctionCalls,
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
      out.push({
        type: "done",
        finishReason: finishReasonOf(stopReason, calledTools),
        usage: { promptTokens, completionTokens, cachedPromptTokens },
        ...(stopSequence !== undefined ? { stopSequence } : {}),
      });
    } catch (e) {
      failed = !signal.aborted;
      throw e;
    } finally {
      if (slot) await m.kv.settle(slot, failed);
      release();
    }
  }

  async embed(name: string, inputs: string[], tenantId: string, signal: AbortSignal): Promise<EmbedResult> {
    const m = this.models.get(name);
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
