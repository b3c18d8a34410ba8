/**
 * Server-sent events for every dialect's streams: `[event: <name>\n]data: <json>\n\n`
 * events, headers that stop proxies and compression from buffering, the client's
 * disconnect aborting the generation, a mid-stream failure ending the stream with
 * one error event in the dialect's shape, and the usage record written when the
 * stream ends — however it ends.
 */
import { toGatewayError } from "./errors";
import type { Dialect, GatewayContext } from "./types";

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
  connection: "keep-alive",
};

/** Sends one event; `event` names it (Anthropic-style streams), plain `data:` otherwise. */
export type Emit = (data: unknown, event?: string) => void;

/**
 * Runs `produce` and streams what it emits. `produce` resolves when generation is
 * complete; throwing ends the stream with the dialect's error event, or with
 * `opts.streamError`'s when this stream's failure carries per-request state (the
 * Responses API's `response.failed`: the response so far and the next sequence number).
 */
export function sseResponse(
  ctx: GatewayContext,
  produce: (emit: Emit) => Promise<void>,
  opts: { streamError?: Dialect["streamError"] } = {},
): Response {
  const streamError = opts.streamError ?? ctx.dialect.streamError;
  ctx.deferFinish();
  ctx.usage.stream = true;
  const encoder = new TextEncoder();
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const emit: Emit = (data, event) => {
        if (closed) return;
        const payload = typeof data === "string" ? data : JSON.stringify(data);
        controller.enqueue(encoder.encode(event ? `event: ${event}\ndata: ${payload}\n\n` : `data: ${payload}\n\n`));
      };
      void (async () => {
        try {
          await produce(emit);
          if (ctx.signal.aborted) {
            ctx.finish({ status: "cancelled", httpStatus: 499 });
          } else {
            if (ctx.dialect.streamEnd !== undefined) emit(ctx.dialect.streamEnd);
            ctx.finish({ status: "ok", httpStatus: 200 });
          }
        } catch (e) {
          if (ctx.signal.aborted) {
            ctx.finish({ status: "cancelled", httpStatus: 499 });
          } else {
            const ge = toGatewayError(e, ctx.requestId, () => ctx.log);
            const ev = streamError(ge, ctx.requestId);
            emit(ev.data, ev.event);
            ctx.finish({ status: "error", httpStatus: ctx.dialect.status?.(ge) ?? ge.status, error: ge });
          }
        } finally {
          if (!closed) {
            closed = true;
            try {
              controller.close();
            } catch {
              /* already cancelled by the client */
            }
          }
        }
      })();
    },
    cancel() {
      // The client went away: stop generating now; produce() sees the abort and returns.
      closed = true;
      ctx.abort(new Error("client disconnected"));
    },
  });
  return new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...ctx.headers } });
}
