/**
 * A small OpenAI-compatible server on loopback — the edge of the world for tests
 * of remote backends. It answers GET /v1/models, POST /v1/chat/completions,
 * /v1/completions (stream or not) and /v1/embeddings, and can be told to fail:
 * a status, a hang before headers (connect timeout), a hang after headers
 * (first-token timeout), or dying after some tokens. `chunks` streams exactly the
 * chat.completion.chunk objects a test scripts (tool-call fragments, several
 * choices, logprobs…), optionally chosen per request body, as a real server would.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Behaviour =
  | { kind: "reply"; tokens?: string[]; usage?: boolean }
  | { kind: "status"; status: number; message?: string }
  | { kind: "hang" }
  | { kind: "hang-after-headers" }
  | { kind: "die-after"; tokens: string[] }
  /** streams these chunks (id/object/created/model filled in when absent), then [DONE] — or dies after `dieAfter` of them */
  | { kind: "chunks"; chunks: object[] | ((body: Record<string, unknown>) => object[]); dieAfter?: number };

export interface FakeUpstream {
  /** base URL, ending in /v1 */
  url: string;
  /** what chat/completions/embeddings do from now on */
  behave: (b: Behaviour) => void;
  /** what GET /models answers: a status other than 200 fails the health check */
  modelsStatus: (status: number) => void;
  /** bodies and authorization headers of completion requests received */
  requests: { path: string; body: Record<string, unknown>; authorization: string | undefined; traceparent?: string }[];
  close: () => Promise<void>;
}

export const DEFAULT_TOKENS = ["Hello", " from", " upstream", "."];

export interface FakeUpstreamOptions {
  models?: string[];
  /** extra fields of a model's GET /models entry, by model id (e.g. capabilities, architecture) */
  modelFields?: Record<string, Record<string, unknown>>;
}

type Fragment = { index?: number; id?: string; type?: string; function?: { name?: string; arguments?: string } };
type ScriptedChoice = {
  index?: number;
  delta?: { content?: string | null; refusal?: string | null; reasoning_content?: string; reasoning?: string; tool_calls?: Fragment[]; function_call?: { name?: string; arguments?: string } };
  logprobs?: { content?: unknown[] | null; refusal?: unknown[] | null } | null;
  finish_reason?: string | null;
};

/** One scripted chunk: a delta of choice `index`, and its finish reason. */
export const chunkDelta = (d: object, finish: string | null = null, index = 0) => ({ choices: [{ index, delta: d, logprobs: null, finish_reason: finish }] });

/** One tool-call fragment of a chunk's delta.tool_calls, with only the fields given (`id` brings `type`). */
export const toolFragment = (index: number, f: { id?: string; name?: string; arguments?: string }) => ({
  index,
  ...(f.id ? { id: f.id, type: "function" } : {}),
  function: { ...(f.name !== undefined ? { name: f.name } : {}), ...(f.arguments !== undefined ? { arguments: f.arguments } : {}) },
});

/** Scripted chunks assembled into one chat.completion body, as OpenAI-compatible servers answer `stream: false`. */
export function wholeOf(chunks: object[]): { choices: object[]; usage?: object } {
  const choices = new Map<number, { content: string | null; refusal: string | null; reasoning: string | null; calls: Map<number, Fragment & { function: { name: string; arguments: string } }>; fc: { name: string; arguments: string } | null; logprobs: { content: unknown[] | null; refusal: unknown[] | null } | null; finish: string | null }>();
  let usage: object | undefined;
  for (const c of chunks as { choices?: ScriptedChoice[]; usage?: object }[]) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices ?? []) {
      const i = ch.index ?? 0;
      let acc = choices.get(i);
      if (!acc) choices.set(i, (acc = { content: null, refusal: null, reasoning: null, calls: new Map(), fc: null, logprobs: null, finish: null }));
      const d = ch.delta ?? {};
      if (typeof d.content === "string" && d.content) acc.content = (acc.content ?? "") + d.content;
      if (typeof d.refusal === "string" && d.refusal) acc.refusal = (acc.refusal ?? "") + d.refusal;
      const reasoning = d.reasoning_content ?? d.reasoning;
      if (reasoning) acc.reasoning = (acc.reasoning ?? "") + reasoning;
      for (const [k, t] of (d.tool_calls ?? []).entries()) {
        const at = t.index ?? k;
        let call = acc.calls.get(at);
        if (!call) acc.calls.set(at, (call = { id: "", type: "function", function: { name: "", arguments: "" } }));
        if (t.id) call.id = t.id;
        if (t.function?.name) call.function.name += t.function.name;
        if (t.function?.arguments) call.function.arguments += t.function.arguments;
      }
      if (d.function_call) {
        acc.fc ??= { name: "", arguments: "" };
        acc.fc.name += d.function_call.name ?? "";
        acc.fc.arguments += d.function_call.arguments ?? "";
      }
      if (ch.logprobs) {
        acc.logprobs ??= { content: null, refusal: null };
        if (ch.logprobs.content) acc.logprobs.content = [...(acc.logprobs.content ?? []), ...ch.logprobs.content];
        if (ch.logprobs.refusal) acc.logprobs.refusal = [...(acc.logprobs.refusal ?? []), ...ch.logprobs.refusal];
      }
      if (ch.finish_reason) acc.finish = ch.finish_reason;
    }
  }
  return {
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, a]) => ({
        index,
        message: {
          role: "assistant",
          content: a.content,
          ...(a.refusal !== null ? { refusal: a.refusal } : {}),
          ...(a.reasoning !== null ? { reasoning_content: a.reasoning } : {}),
          ...(a.calls.size ? { tool_calls: [...a.calls.entries()].sort(([x], [y]) => x - y).map(([, t]) => t) } : {}),
          ...(a.fc ? { function_call: a.fc } : {}),
        },
        logprobs: a.logprobs,
        finish_reason: a.finish ?? "stop",
      })),
    ...(usage ? { usage } : {}),
  };
}

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const models = opts.models ?? ["up-model"];
  let behaviour: Behaviour = { kind: "reply" };
  let modelsStatus = 200;
  const requests: FakeUpstream["requests"] = [];
  const sockets = new Set<import("node:net").Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "").replace(/^\/v1/, "");
      if (req.method === "GET" && path === "/models") {
        if (modelsStatus !== 200) return void res.writeHead(modelsStatus, { "content-type": "application/json" }).end('{"error":{"message":"down"}}');
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ object: "list", data: models.map((id) => ({ id, object: "model", owned_by: "fake", ...opts.modelFields?.[id] })) }));
      }
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>) : {};
      requests.push({ path, body, authorization: req.headers.authorization, traceparent: req.headers.traceparent as string | undefined });
      const b = behaviour;
      if (b.kind === "status") {
        res.writeHead(b.status, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ error: { message: b.message ?? `fake ${b.status}` } }));
      }
      if (b.kind === "hang") return; // never answers; the client's timeout ends it
      if (path === "/embeddings") {
        const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(
          JSON.stringify({
            object: "list",
            data: input.map((s, index) => ({ object: "embedding", index, embedding: [s.length, 0.5, -0.5] })),
            model: body.model,
            usage: { prompt_tokens: input.length * 3, total_tokens: input.length * 3 },
          }),
        );
      }
      const chat = path === "/chat/completions";
      if (b.kind === "chunks") {
        const list = typeof b.chunks === "function" ? b.chunks(body) : b.chunks;
        if (!body.stream) {
          // what a real server answers a non-streaming request with: the same answer, whole
          if (b.dieAfter !== undefined) return void res.destroy();
          res.writeHead(200, { "content-type": "application/json" });
          return void res.end(JSON.stringify({ id: "upstream-id", object: "chat.completion", created: 1, model: body.model, ...wholeOf(list) }));
        }
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        list.forEach((c, i) => {
          if (b.dieAfter !== undefined && i >= b.dieAfter) return;
          res.write(`data: ${JSON.stringify({ id: "upstream-id", object: "chat.completion.chunk", created: 1, model: body.model, ...c })}\n\n`);
        });
        if (b.dieAfter !== undefined) return void setTimeout(() => res.destroy(), 5);
        return void res.end("data: [DONE]\n\n");
      }
      const tokens = b.kind === "reply" ? (b.tokens ?? DEFAULT_TOKENS) : b.kind === "die-after" ? b.tokens : [];
      const usage = b.kind === "reply" && b.usage !== false ? { prompt_tokens: 7, completion_tokens: tokens.length, total_tokens: 7 + tokens.length } : undefined;
      if (!body.stream) {
        // headers, then nothing: the first-token timeout's case for a whole answer too
        if (b.kind === "hang-after-headers") return void res.writeHead(200, { "content-type": "application/json" }).flushHeaders();
        if (b.kind !== "reply") return void res.destroy();
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(
          JSON.stringify({
            id: "upstream-id",
            object: chat ? "chat.completion" : "text_completion",
            model: body.model,
            choices: [chat ? { index: 0, message: { role: "assistant", content: tokens.join("") }, finish_reason: "stop" } : { index: 0, text: tokens.join(""), finish_reason: "stop" }],
            ...(usage ? { usage } : {}),
          }),
        );
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      if (b.kind === "hang-after-headers") return;
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const chunk = (t: string | null, finish: string | null) =>
        send({
          id: "upstream-id",
          object: chat ? "chat.completion.chunk" : "text_completion",
          model: body.model,
          choices: [chat ? { index: 0, delta: t === null ? {} : { content: t }, finish_reason: finish } : { index: 0, text: t ?? "", finish_reason: finish }],
        });
      if (chat) send({ id: "upstream-id", object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
      for (const t of tokens) chunk(t, null);
      if (b.kind === "die-after") return void setImmediate(() => res.destroy());
      chunk(null, "stop");
      if (usage) send({ id: "upstream-id", object: "chat.completion.chunk", choices: [], usage });
      res.end("data: [DONE]\n\n");
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  server.unref(); // a test that forgets close() must not keep its worker alive
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    behave: (b) => (behaviour = b),
    modelsStatus: (s) => (modelsStatus = s),
    requests,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
