/**
 * Watches calls into node-llama-cpp's native context (`_ctx`, the addon object every batch,
 * sample and generation burst passes through) for tests that check what the context hands
 * llama.cpp. Its methods are read-only, so the context gets a proxy in front of it.
 */
import type { LlamaContext } from "node-llama-cpp";

export type NativeCall = (method: string, args: unknown[]) => void;

export function watchNativeContext(context: LlamaContext, onCall: NativeCall): { restore: () => void } {
  const holder = context as unknown as { _ctx: Record<string | symbol, unknown> };
  const native = holder._ctx;
  holder._ctx = new Proxy(native, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        onCall(String(prop), args);
        return value.apply(target, args);
      };
    },
  });
  return { restore: () => void (holder._ctx = native) };
}

/** The sequence ids of each llama_decode the batch loop runs, in the order they were added. */
export function recordBatches(context: LlamaContext): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  watchNativeContext(context, (method, args) => {
    if (method === "addToBatch") current.push(args[0] as number);
    else if (method === "decodeBatch") {
      batches.push(current);
      current = [];
    }
  });
  return batches;
}
