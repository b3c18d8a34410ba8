/**
 * The compose topology as processes on loopback (no Docker engine here): two replicas of
 * the image (installed as scripts/deploy/image.ts does, each run as the image's uid)
 * sharing one PostgreSQL database and one Redis, behind nginx configured from the
 * e2e-tested deploy/nginx/switchyard.conf with both replicas as upstream — what
 * deploy/compose/compose.yaml describes. Checks:
 *   - both replicas migrate the same fresh database at the same time and become ready;
 *   - a session signed in on replica A is valid on replica B (shared AUTH_SECRET + DB);
 *   - an RPM limit of 2 holds across both replicas (shared Redis): A, B, then 429 on A;
 *   - SIGTERM to replica A during a stream: its usage row reaches PostgreSQL, and
 *     requests through nginx keep succeeding on B.
 * Needs the /llm build, root, tini, nginx, redis-server and PostgreSQL at TEST_PG_URL
 * (default postgres:postgres@localhost:5432; scripts/ensure-postgres.sh).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { renderSiteConfig } from "../e2e/nginx";
import { assertPortFree, imagePath, installImage, killTree, repoRoot as root } from "./deploy/image";
import { writeTinyModel } from "./tiny-gguf/make-tiny-model";

const B = process.env.E2E_BASE_PATH ?? "/llm";
const basePort = Number(process.env.E2E_TOPOLOGY_PORT ?? 3340);
const [redisPort, portA, portB, nginxPort] = [basePort, basePort + 1, basePort + 2, basePort + 3];
const origin = `http://localhost:${nginxPort}`;
const pgBase = process.env.TEST_PG_URL ?? "postgresql://postgres:postgres@localhost:5432/postgres";
const dbName = `switchyard_topology_${process.pid}`;
const step = (m: string) => console.log(`test-topology: ${m}`);
const dbUrl = (() => {
  const u = new URL(pgBase);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

const children: ChildProcess[] = [];
function start(name: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(argv[0]!, argv.slice(1), { ...opts, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  children.push(child);
  return { child, exited, log: () => `--- ${name}\n${log}` };
}

async function waitFor(what: string, ok: () => Promise<boolean>, logs: () => string) {
  for (let i = 0; i < 240; i++) {
    try {
      if (await ok()) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} never came up\n${logs()}`);
}

/**
 * fetch, retried once when a kept-alive connection turns out closed by the server
 * (Next closes idle sockets after 5 s; our CLI steps take longer).
 */
async function request(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw e;
    return fetch(url, init);
  }
}

/** Cookie jar for one browser: name=value pairs from Set-Cookie. */
function jar() {
  const cookies = new Map<string, string>();
  return {
    take(res: Response) {
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const i = pair!.indexOf("=");
        cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
      }
    },
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
    names: () => [...cookies.keys()],
  };
}

async function main() {
  for (const port of [redisPort, portA, portB, nginxPort]) await assertPortFree(port);
  const img = installImage(B, "switchyard-topology-");
  const admin = new pg.Client({ connectionString: pgBase });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  let db: pg.Client | undefined;
  try {
    const redis = start("redis", ["redis-server", "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    const env = (port: number): NodeJS.ProcessEnv =>
      ({
        ...img.imageEnv,
        PATH: imagePath(),
        PORT: String(port),
        DATABASE_URL: dbUrl,
        REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        AUTH_SECRET: "topology-secret-0123456789abcdefghijklmnopqrs",
        PUBLIC_URL: origin,
        TRUST_PROXY: "1",
        LLAMA_THREADS: "1",
        PASSWORD_HASH_COST: "6",
        TINI_SUBREAPER: "1",
      }) as unknown as NodeJS.ProcessEnv;
    // both at once: the migrator serialises them (PostgreSQL advisory lock)
    const a = start("replica A", img.argv, { cwd: img.appDir, env: env(portA) });
    const b = start("replica B", img.argv, { cwd: img.appDir, env: env(portB) });
    const logs = () => [redis.log(), a.log(), b.log()].join("\n");
    for (const port of [portA, portB]) {
      await waitFor(`replica :${port}`, async () => {
        const r = await fetch(`http://localhost:${port}${B}/api/health?ready`);
        if (r.status !== 200) return false;
        const body = (await r.json()) as { checks: Record<string, string> };
        assert.deepEqual(body.checks, { database: "ok", migrations: "ok", ratelimit: "ok" });
        return true;
      }, logs);
    }
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const applied = await db.query(`SELECT id FROM "_switchyard_migrations"`);
    const shipped = readdirSync(path.join(root, "prisma/migrations/postgresql")).filter((d) => /^\d{4}_/.test(d));
    assert.deepEqual(applied.rows.map((r: { id: string }) => r.id).sort(), shipped.sort(), "every shipped migration applied exactly once");

    step("both replicas ready");
    // nginx with both replicas as upstream, from the shipped config
    const ngDir = path.join(img.fsRoot, "nginx");
    mkdirSync(ngDir);
    const site = renderSiteConfig(readFileSync(path.join(root, "deploy/nginx/switchyard.conf"), "utf8"), {
      basePath: B,
      appPort: portA,
      listen: `127.0.0.1:${nginxPort}`,
    }).replace(`server 127.0.0.1:${portA};`, `server 127.0.0.1:${portA};\n    server 127.0.0.1:${portB};`);
    assert.match(site, new RegExp(`server 127.0.0.1:${portB};`));
    writeFileSync(
      path.join(ngDir, "nginx.conf"),
      [
        "daemon off;",
        process.getuid?.() === 0 ? "user root;" : "",
        "worker_processes 1;",
        `pid ${ngDir}/nginx.pid;`,
        `error_log ${ngDir}/error.log warn;`,
        "events { worker_connections 256; }",
        "http {",
        `  access_log ${ngDir}/access.log;`,
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${ngDir}/${t}_temp;`),
        site,
        "}",
      ].join("\n"),
    );
    const nginx = start("nginx", [existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx", "-p", ngDir, "-c", path.join(ngDir, "nginx.conf")]);
    await waitFor("nginx", async () => (await fetch(`${origin}${B}/api/health?ready`)).status === 200, () => logs() + nginx.log());

    // accounts, model and keys with the CLI against the shared database
    const modelFile = path.join(img.dataDir, "models/tiny.gguf");
    writeTinyModel(modelFile);
    if (img.asRoot) chownSync(path.dirname(modelFile), img.user.uid, img.user.gid);
    const cliEnv = { ...process.env, DATABASE_URL: dbUrl, AUTH_SECRET: env(portA).AUTH_SECRET!, BASE_PATH: B, PASSWORD_HASH_COST: "6" };
    const cli = (...args: string[]) =>
      execFileSync(path.join(root, "node_modules/.bin/tsx"), ["server/cli/main.ts", ...args], { cwd: root, env: cliEnv, encoding: "utf8" });
    cli("admin", "create", "--email", "ops@topology.test", "--password", "topology-password-1");
    cli("model", "add", modelFile, "--name", "tiny", "--ctx", "4096", "--parallel", "2", "--threads", "1");
    cli("tenant", "create", "--slug", "topo", "--name", "Topology");
    const limited = JSON.parse(cli("key", "create", "--tenant", "topo", "--name", "limited", "--json")) as { key: string; id: string };
    const free = JSON.parse(cli("key", "create", "--tenant", "topo", "--name", "free", "--json")) as { key: string };
    cli("key", "limits", "--tenant", "topo", "--id", limited.id, "--rpm", "2");

    step("sign-in on A, session on B");
    // 1. signed in on A, valid on B
    const browser = jar();
    const csrfRes = await request(`http://localhost:${portA}${B}/api/auth/csrf`, { redirect: "manual" });
    browser.take(csrfRes);
    const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
    const signIn = await request(`http://localhost:${portA}${B}/api/auth/callback/credentials`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: browser.header() },
      body: new URLSearchParams({ csrfToken, email: "ops@topology.test", password: "topology-password-1", json: "true" }),
    });
    browser.take(signIn);
    assert.ok(browser.names().some((n) => n.endsWith("session-token")), `sign-in on A set a session cookie (${signIn.status}: ${browser.names().join(", ")})`);
    const sessionOnB = await request(`http://localhost:${portB}${B}/api/auth/session`, { headers: { cookie: browser.header() } });
    assert.equal(((await sessionOnB.json()) as { user?: { email?: string } }).user?.email, "ops@topology.test", "the session from A is valid on B");
    const pageOnB = await request(`http://localhost:${portB}${B}/tenants`, { headers: { cookie: browser.header() }, redirect: "manual" });
    assert.equal(pageOnB.status, 200, "a console page on B with A's session");
    const anonymous = await request(`http://localhost:${portB}${B}/tenants`, { redirect: "manual" });
    assert.equal(anonymous.status, 307, "and without it, B sends to sign-in");

    step("RPM across replicas");
    // 2. one RPM limit across both replicas
    const chat = (port: number, key: string, extra: Record<string, string> = {}) =>
      request(`http://localhost:${port}${B}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...extra },
        body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }] }),
      });
    const statuses = [];
    for (const port of [portA, portB, portA]) statuses.push((await chat(port, limited.key)).status);
    assert.deepEqual(statuses, [200, 200, 429], "requests/min counted across replicas");

    step("SIGTERM to A mid-stream");
    // 3. replica A stopped mid-stream: the row reaches PostgreSQL, nginx keeps serving from B
    const requestId = `topology-term-${process.pid}`;
    const stream = await request(`http://localhost:${portA}${B}/api/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${free.key}`, "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify({ model: "tiny", prompt: "Once upon a time", max_tokens: 4000, stream: true }),
    });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    let seen = "";
    const dec = new TextDecoder();
    while (!/"text":"[^"]/.test(seen)) {
      const { value, done } = await reader.read();
      assert.ok(!done, `stream ended early: ${seen}`);
      seen += dec.decode(value, { stream: true });
    }
    a.child.kill("SIGTERM");
    try {
      for (;;) if ((await reader.read()).done) break;
    } catch {
      /* closed */
    }
    await a.exited;
    const row = await db.query(`SELECT status, "errorCode", "completionTokens" FROM "RequestLog" WHERE "requestId" = $1`, [requestId]);
    assert.equal(row.rowCount, 1, "the interrupted stream's usage row is in PostgreSQL");
    assert.equal(row.rows[0].errorCode, "shutting_down");
    assert.ok(Number(row.rows[0].completionTokens) > 0);
    for (let i = 0; i < 4; i++) {
      const r = await request(`${origin}${B}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${free.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }] }),
      });
      assert.equal(r.status, 200, `request ${i} through nginx after A stopped`);
    }
    console.log("test-topology: ok (2 replicas, PostgreSQL, Redis, nginx)");
  } finally {
    await db?.end().catch(() => {});
    for (const c of children) {
      if (c.pid) killTree(c.pid);
    }
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((e: Error) => console.error(`drop database: ${e.message}`));
    await admin.end();
    if (!process.env.KEEP_IMAGE_DIR) rmSync(img.fsRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
