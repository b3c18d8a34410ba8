/**
 * Integration tests' HTTP server for /api/v1: a plain node:http server that
 * dispatches to the app's real route handlers (the same modules Next serves), so
 * tests talk real HTTP — SSE, disconnects, the official `openai` client — without
 * a Next build. e2e covers the same routes under `next start`. The route table is
 * discovered from the app's route files, and every answer is checked against the
 * /v1 response schemas (v1-wire.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { installPeerStamp } from "../http/client-address";
import { allowServerOnly } from "./server-only";
import { addWireViolation, wireChecker } from "./v1-wire";

/** A stdout line of v1-server-child.ts relaying a wire-check violation: this, a space, the JSON string. */
export const WIRE_VIOLATION = "WIRE_VIOLATION";

type Handler = (req: Request) => Response | Promise<Response>;
interface Route {
  file: string;
  pattern: RegExp;
  /** per segment: 0 static, 1 `[param]`, 2 `[...catchAll]`, for Next's precedence */
  ranks: number[];
  methods: Partial<Record<string, Handler>>;
}

const APP_DIR = path.resolve(import.meta.dirname, "../../app");
/** The route trees the test server serves: the public API and the metrics scrape. */
const ROUTE_ROOTS = ["api/v1", "metrics"];
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** `app/**\/route.ts` under ROUTE_ROOTS, as paths relative to app/ (e.g. `api/v1/models/[...model]/route.ts`). */
export function routeFiles(): string[] {
  return ROUTE_ROOTS.flatMap((root) =>
    (readdirSync(path.join(APP_DIR, root), { recursive: true }) as string[])
      .filter((f) => path.basename(f) === "route.ts")
      .map((f) => path.posix.join(root, f.split(path.sep).join("/"))),
  ).sort();
}

/** A route file's URL pattern and precedence, as Next reads its folder names. */
export function routeOf(file: string): { pattern: RegExp; ranks: number[] } {
  const segments = path.posix.dirname(file).split("/");
  const ranks = segments.map((s) => (s.startsWith("[...") ? 2 : s.startsWith("[") ? 1 : 0));
  const parts = segments.map((s, i) => (ranks[i] === 2 ? ".+" : ranks[i] === 1 ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return { pattern: new RegExp(`^/${parts.join("/")}$`), ranks };
}

/** Static segments before dynamic ones before catch-alls, segment by segment (Next's order). */
function byPrecedence(a: Route, b: Route): number {
  for (let i = 0; i < Math.min(a.ranks.length, b.ranks.length); i++) if (a.ranks[i] !== b.ranks[i]) return a.ranks[i]! - b.ranks[i]!;
  return b.ranks.length - a.ranks.length;
}

/** Every route module the app serves under ROUTE_ROOTS, imported, with the methods it exports. */
async function routes(): Promise<Route[]> {
  allowServerOnly(); // the route modules carry `import "server-only"`
  const table = await Promise.all(
    routeFiles().map(async (file): Promise<Route> => {
      const mod = (await import(path.join(APP_DIR, file))) as Record<string, unknown>;
      const methods = Object.fromEntries(METHODS.flatMap((m) => (typeof mod[m] === "function" ? [[m, mod[m] as Handler]] : [])));
      return { file, ...routeOf(file), methods };
    }),
  );
  return table.sort(byPrecedence);
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
    const route = table.find((r) => r.pattern.test(url.pathname));
    const handler = route?.methods[req.method ?? "GET"];
    if (!handler) {
      res.writeHead(route ? 405 : 404).end();
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
    const wire = wireChecker(req.method ?? "GET", url.pathname, response.status, response.headers.get("content-type"));
    const reader = response.body.getReader();
    res.on("close", () => void reader.cancel().catch(() => {}));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        wire.write(value);
        res.write(value);
      }
      wire.end();
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
    let relayed = 0;
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
      // the child's wire-check violations fail the test running now, as the in-process server's do
      const lines = out.split("\n");
      for (; relayed < lines.length - 1; relayed++) {
        const line = lines[relayed]!;
        if (line.startsWith(`${WIRE_VIOLATION} `)) addWireViolation(JSON.parse(line.slice(WIRE_VIOLATION.length + 1)) as string);
      }
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
