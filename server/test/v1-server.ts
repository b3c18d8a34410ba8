/**
 * Integration tests' HTTP server for /api/v1: a plain node:http server that
 * dispatches to the app's real route handlers (the same modules Next serves), so
 * tests talk real HTTP — SSE, disconnects, the official `openai` client — without
 * a Next build. e2e covers the same routes under `next start`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { installPeerStamp } from "../http/client-address";
import { allowServerOnly } from "./server-only";

type Handler = (req: Request) => Response | Promise<Response>;

async function routes(): Promise<Record<string, Partial<Record<string, Handler>>>> {
  allowServerOnly(); // the route modules carry `import "server-only"`
  const chat = await import("../../app/api/v1/chat/completions/route");
  const completions = await import("../../app/api/v1/completions/route");
  const embeddings = await import("../../app/api/v1/embeddings/route");
  const models = await import("../../app/api/v1/models/route");
  const model = await import("../../app/api/v1/models/[...model]/route");
  const responses = await import("../../app/api/v1/responses/route");
  const response = await import("../../app/api/v1/responses/[id]/route");
  const inputItems = await import("../../app/api/v1/responses/[id]/input_items/route");
  const messages = await import("../../app/api/v1/messages/route");
  const countTokens = await import("../../app/api/v1/messages/count_tokens/route");
  const fallback = await import("../../app/api/v1/[...path]/route");
  const metrics = await import("../../app/metrics/route");
  return {
    "/api/v1/chat/completions": { POST: chat.POST },
    "/api/v1/completions": { POST: completions.POST },
    "/api/v1/embeddings": { POST: embeddings.POST },
    "/api/v1/messages": { POST: messages.POST },
    "/api/v1/messages/count_tokens": { POST: countTokens.POST },
    "/api/v1/models": { GET: models.GET },
    "/api/v1/models/*": { GET: model.GET },
    "/api/v1/responses": { POST: responses.POST },
    "/api/v1/responses/*": { GET: response.GET, DELETE: response.DELETE },
    "/api/v1/responses/*/input_items": { GET: inputItems.GET },
    "/metrics": { GET: metrics.GET },
    "*": { GET: fallback.GET, POST: fallback.POST },
  };
}

/** The table's key for a dynamic route (`[...model]`, `[id]`, `[id]/input_items`). */
function wildcard(path: string): string {
  if (path.startsWith("/api/v1/models/")) return "/api/v1/models/*";
  const m = /^\/api\/v1\/responses\/[^/]+(\/input_items)?$/.exec(path);
  return m ? `/api/v1/responses/*${m[1] ?? ""}` : "*";
}

/**
 * `basePath` imitates Next under BASE_PATH: requests must start with it, and the route
 * handler sees the URL without it (NOTES pitfall 4). The server stamps each request's
 * socket address like `next start` does once server/startup.ts has run.
 */
export async function startV1Server(
  opts: { basePath?: string; host?: string } = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  installPeerStamp();
  const table = await routes();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (opts.basePath) {
      if (!url.pathname.startsWith(`${opts.basePath}/`)) {
        res.writeHead(404).end();
        return;
      }
      url.pathname = url.pathname.slice(opts.basePath.length);
    }
    const entry = table[url.pathname] ?? table[wildcard(url.pathname)] ?? table["*"];
    const handler = entry?.[req.method ?? "GET"];
    if (!handler) {
      res.writeHead(405).end();
      return;
    }
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(url, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined,
      duplex: "half",
      signal: abort.signal,
    } as RequestInit);
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) {
      res.end();
      return;
    }
    const reader = response.body.getReader();
    res.on("close", () => void reader.cancel().catch(() => {}));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
      }
      res.end();
    } catch {
      res.destroy();
    }
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeIdleConnections();
      }),
  };
}

/**
 * The same server in a process of its own (server/test/v1-server-child.ts, with the production
 * shutdown sequence) — another replica, or a process to send SIGTERM to.
 */
export function startV1ServerChild(env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  // node itself, not the tsx CLI: under load the CLI's signal relay gives the child 30 ms to
  // acknowledge SIGTERM and then SIGKILLs it (exit 143), cutting the shutdown short
  const child = spawn(process.execPath, ["--import", "tsx", "server/test/v1-server-child.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.on("exit", (code) => reject(new Error(`server process exited early (${code}): ${out}`)));
  });
}

/** SIGTERM, and wait until the process has exited. */
export async function stopV1ServerChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
