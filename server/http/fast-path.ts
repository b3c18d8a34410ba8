/**
 * The lean path for the public API: `<base>/api/v1/*` requests skip Next's router and go
 * straight to the same route modules' GET/POST (the ones Next built, loaded from
 * `.next/server/app/…/route.js`), with a Web Request in and the Response piped out — the
 * way server/test/v1-server.ts calls them. Everything else (console, auth, docs, metrics,
 * and any /api/v1 request the table cannot serve: other methods, routes that are not
 * `force-dynamic`) goes to Next unchanged.
 *
 * Why: Next's per-request handling cost ~1.7 ms of CPU, about three times what the gateway
 * itself spends on a request to a remote backend (docs/benchmarks.md, issue #17).
 *
 * Installed at start-up (server/startup.ts) by wrapping the Node HTTP server's "request"
 * event, as the peer-address stamp does, so `next start`, the standalone server.js of the
 * image and the base path stay as they are. Production only (a dev server compiles routes
 * on demand); API_FAST_PATH=off turns it off.
 */
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import path from "node:path";
import { Readable } from "node:stream";
import { processSlot } from "../runtime/registry";
import { stampPeer } from "./client-address";
import { SECURITY_HEADERS } from "./security-headers";
import { logger } from "../log/logger";

type Handler = (req: Request) => Response | Promise<Response>;
interface RouteModule {
  ensureUserland?: () => Promise<void>;
  userland?: Record<string, unknown>;
}
interface Route {
  /** path segments under /api/v1; "[x]" one segment, "[...x]" one or more */
  segments: string[];
  file: string;
  handlers?: Promise<Record<string, Handler> | null>;
}

/** Whether this process's HTTP servers are wrapped already (once per process, whichever bundle installs it). */
const installed = processSlot("http.fastPath", () => false);
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** The /api/v1 routes of a production build, from Next's app-paths manifest. */
export function v1Routes(distDir: string): Route[] {
  const manifest = path.join(distDir, "server", "app-paths-manifest.json");
  if (!existsSync(manifest)) return [];
  const entries = JSON.parse(readFileSync(manifest, "utf8")) as Record<string, string>;
  return Object.entries(entries)
    .filter(([route]) => route.startsWith("/api/v1/") && route.endsWith("/route"))
    .map(([route, file]) => ({ segments: route.slice("/api/v1/".length, -"/route".length).split("/").filter(Boolean), file: path.join(distDir, "server", file) }));
}

/** Next's precedence, segment by segment: a static segment beats `[x]`, which beats `[...x]`. */
const rank = (s: string) => (s.startsWith("[...") ? 2 : s.startsWith("[") ? 1 : 0);

function matches(route: string[], segments: string[]): boolean {
  for (let i = 0; i < route.length; i++) {
    const k = rank(route[i]!);
    if (k === 2) return i === route.length - 1 && segments.length > i;
    if (i >= segments.length || (k === 0 && route[i] !== segments[i])) return false;
  }
  return route.length === segments.length;
}

/** Negative when route `a` takes precedence over `b`. */
function precedence(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = rank(a[i] ?? "[...]") - rank(b[i] ?? "[...]");
    if (d) return d;
  }
  return 0;
}

export function matchRoute<R extends { segments: string[] }>(routes: R[], segments: string[]): R | null {
  let best: R | null = null;
  for (const r of routes) if (matches(r.segments, segments) && (!best || precedence(r.segments, best.segments) < 0)) best = r;
  return best;
}

async function handlersOf(file: string, load: (f: string) => unknown): Promise<Record<string, Handler> | null> {
  const mod = load(file) as { routeModule?: RouteModule };
  const rm = mod.routeModule;
  if (!rm?.ensureUserland) return null;
  await rm.ensureUserland();
  const u = rm.userland ?? {};
  // only the gateway's dynamic routes: anything Next would cache or prerender stays with Next
  if (u.dynamic !== "force-dynamic") return null;
  const out: Record<string, Handler> = {};
  for (const m of METHODS) if (typeof u[m] === "function") out[m] = u[m] as Handler;
  return out;
}

/** Pipes a Web Response to a Node response; a client that goes away cancels the body (and so the generation). */
async function send(res: http.ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = { ...SECURITY_HEADERS };
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  res.on("close", () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise<void>((r) => res.once("drain", r).once("close", r));
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/** A body of the declared length, read whole (cheaper than a web stream); null when it is not declared or too large for that. */
function readDeclared(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> | null {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (!Number.isFinite(declared) || declared > maxBytes) return null;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    // after "end" this changes nothing; before it the client went away mid-body
    req.once("close", () => reject(new Error("client closed the request")));
  });
}

function serve(req: http.IncomingMessage, res: http.ServerResponse, handler: Handler, pathAfterBase: string, maxBodyBytes: number): void {
  stampPeer(req);
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  // a declared body within the limit is read whole; anything else streams to the pipeline, which enforces the limit
  const whole = hasBody ? readDeclared(req, maxBodyBytes) : null;
  void (async () => {
    try {
      // as Next hands it to route handlers: without the base path, on its own host (NOTES pitfall 4)
      const request = new Request(`http://${req.headers.host ?? "localhost"}${pathAfterBase}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: hasBody ? ((whole ? await whole : Readable.toWeb(req)) as BodyInit) : undefined,
        duplex: "half",
        signal: abort.signal,
      } as RequestInit);
      await send(res, await handler(request));
    } catch (e) {
      // the gateway pipeline answers every error itself; this is only a broken route module
      logger("fast-path").error((e as Error).message);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end('{"error":{"message":"internal error","type":"server_error"}}');
      else res.destroy();
    }
  })();
}

/**
 * Wraps the HTTP servers' "request" event so /api/v1 requests go to their route modules
 * directly. Idempotent. Returns whether the lean path is on.
 */
export function installFastPath(opts: { basePath: string; maxBodyBytes: number; distDir?: string }): boolean {
  if (installed.get()) return true;
  const distDir = opts.distDir ?? path.join(process.cwd(), ".next");
  const routes = v1Routes(distDir);
  if (!routes.length) return false;
  const load = createRequire(path.join(distDir, "package.json"));
  const prefix = `${opts.basePath}/api/v1/`;
  const wrap = (proto: { emit: (this: unknown, event: string | symbol, ...args: unknown[]) => boolean }) => {
    const emit = proto.emit;
    proto.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
      if (event !== "request") return emit.call(this, event, ...args);
      const req = args[0] as http.IncomingMessage;
      const url = req.url ?? "";
      if (!url.startsWith(prefix)) return emit.call(this, event, ...args);
      const q = url.indexOf("?");
      const pathname = q === -1 ? url : url.slice(0, q);
      const route = matchRoute(routes, pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponentSafe));
      if (!route) return emit.call(this, event, ...args);
      route.handlers ??= handlersOf(route.file, load).catch((e: unknown) => {
        logger("fast-path").error(`${route.file}: ${(e as Error).message}; Next serves it`);
        return null;
      });
      const toNext = () => emit.call(this, event, ...args);
      // the first request of a route waits for its module; later ones find it loaded
      void route.handlers.then((h) => {
        const handler = h?.[req.method ?? "GET"];
        if (!handler) return void toNext();
        serve(req, args[1] as http.ServerResponse, handler, url.slice(opts.basePath.length), opts.maxBodyBytes);
      });
      return true;
    };
  };
  wrap(http.Server.prototype as never);
  wrap(https.Server.prototype as never);
  installed.set(true);
  return true;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
