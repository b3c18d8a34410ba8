/**
 * Our /api/v1 server for the benches, in a process of its own (as in production and as
 * llama-server runs): in one process the bench's SSE client would share the event loop
 * with the handlers and sit on every token's critical path. The bench script re-runs
 * itself with `--serve`: the child sets up a fresh database (tenants with a key each, the
 * model), serves, prints one JSON line saying where, and exits when its stdin closes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

export interface BenchServeOptions {
  /** the bench's scratch directory (the database goes there) */
  dir: string;
  tenants: { slug: string; name: string }[];
  model: { source: string; contextSize: number; parallel: number; threads: number };
  /** variables the server reads (set before its modules load), e.g. LOCAL_PROMPT_CACHE */
  env?: Record<string, string>;
}

/** --serve, in the child: the server with its tenants' keys and the model "bench" (chatml). */
export async function startBenchServer(opts: BenchServeOptions): Promise<{ url: string; keys: string[]; close: () => Promise<void> }> {
  process.env.DATABASE_URL = `file:${path.join(opts.dir, "bench.db")}`;
  process.env.AUTH_SECRET ??= "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";
  process.env.PASSWORD_HASH_COST = "4";
  Object.assign(process.env, opts.env);
  const { migrate } = await import("../server/db/migrate");
  await migrate(process.env.DATABASE_URL);
  const { db } = await import("../server/db/client");
  const { CLI_ACTOR } = await import("../server/services/audit/audit");
  const { createTenant } = await import("../server/services/tenants/tenants");
  const { createApiKey } = await import("../server/services/api-keys/api-keys");
  const { addModel } = await import("../server/services/models/models");
  const { startV1Server } = await import("../server/test/v1-server");
  const keys: string[] = [];
  for (const t of opts.tenants) {
    const tenant = await createTenant(db(), CLI_ACTOR, t);
    keys.push((await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "bench" })).key);
  }
  await addModel(db(), CLI_ACTOR, { name: "bench", kind: "chat", chatTemplate: "chatml", ...opts.model });
  const server = await startV1Server();
  return { url: `${server.url}/api/v1`, keys, close: server.close };
}

/** The engine binary the server's models run on, as the benches print it. */
export async function engineBinary(): Promise<string> {
  const { engineInfo } = await import("../server/inference/local-engine");
  const info = await engineInfo();
  return `${info.binary}${info.fallbackReason ? ` (${info.fallbackReason})` : ""}`;
}

/** In the child, once warm: tells the parent `ready` (one JSON line) and serves until stdin closes. */
export function announce(ready: object, server: { close: () => Promise<void> }): void {
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => void server.close().then(() => process.exit(0)));
}

/** In the parent: this script again with `--serve` and `extraArgs`; resolves with the child's ready line. */
export async function spawnBenchServer<T>(extraArgs: string[] = []): Promise<{ ready: T; child: ChildProcess; stop: () => void }> {
  const args = process.argv.slice(1).filter((a) => a !== "--serve");
  const child = spawn(process.execPath, [...process.execArgv, ...args, "--serve", ...extraArgs], { stdio: ["pipe", "pipe", "inherit"], env: process.env });
  const ready = await new Promise<T>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const line = buf.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as T);
    });
    child.on("exit", (code) => reject(new Error(`the bench server exited (${code})`)));
  });
  return { ready, child, stop: () => child.stdin!.end() };
}
