/**
 * Server-sent events for /api/v1 streams (DESIGN.md §3.7): `data: <json>\n\n` …
 * `data: [DONE]\n\n`, headers that stop proxies and compression from buffering,
 * the client's disconnect aborting the generation, a mid-stream failure ending
 * the stream with one error event, and the usage record written when the stream
 * ends — however it ends.
 */
import type { V1Context } from "./handler";
import { mapError } from "./errors";

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
  connection: "keep-alive",
};

export type Emit = (data: unknown) => void;

/**
 * Runs `produce` and streams what it emits. `produce` resolves when generation is
 * complete; throwing ends the stream with an error event.
 */
export function sseResponse(ctx: V1Context, produce: (emit: Emit) => Promise<void>): Response {
  ctx.deferFinish();
  ctx.usage.stream = true;
  const encoder = new TextEncoder();
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const emit: Emit = (data) => {
        if (closed) return;
        controller.enqueue(encoder.encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`));
      };
      void (async () => {
        try {
          await produce(emit);
          if (ctx.signal.aborted) {
            ctx.finish({ status: "cancelled", httpStatus: 499 });
          } else {
            emit("[DONE]");
            ctx.finish({ status: "ok", httpStatus: 200 });
          }
        } catch (e) {
          if (ctx.signal.aborted) {
            ctx.finish({ status: "cancelled", httpStatus: 499 });
          } else {
            const mapped = mapError(e, ctx.requestId);
            emit(mapped.body);
            ctx.finish({ status: "error", httpStatus: mapped.status, error: mapped });
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
