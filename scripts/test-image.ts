/**
 * The container image without a Docker engine: does what the Dockerfile's runtime
 * stage says — its COPYs from the build stage (into an empty temp directory: no repo,
 * no node_modules, no dev dependencies), its ENV, WORKDIR, USER, ENTRYPOINT + CMD and
 * HEALTHCHECK, all read from the Dockerfile so this breaks when the file drifts — and
 * checks the result works:
 *   - starts as the image's unprivileged uid with the app directory read-only to it and
 *     only the /data volume writable; the same command with SWITCHYARD_MIGRATE_ONLY=1
 *     (the Helm migrations Job) migrates the empty volume and exits; readiness ok;
 *   - a local model registered with the CLI against the same database answers /api/v1;
 *   - the console (sign-in page and its static assets), /docs and its assets, under the
 *     build's base path; logs go to stdout;
 *   - SIGTERM to the init process during a stream: exit 0 and the stream's usage row
 *     is written; the stream's fresh key gets its lastUsedAt, though the signal comes
 *     before its batch's timer: the shutdown hook (instrumentation bundle) flushes the
 *     batch the /v1 route bundle filled (one instance per process: server/runtime/).
 * Needs a build for the base path in E2E_BASE_PATH (default /llm): the e2e matrix runs
 * this right after its /llm cell, reusing that `next build`. Needs root (to switch to
 * the image's uid, as CI runs) and `tini` and `setpriv` (Debian: tini, util-linux).
 *   BASE_PATH=/llm npm run build && npx tsx scripts/test-image.ts
 */
import Database from "better-sqlite3";
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { Agent, setGlobalDispatcher } from "undici";
import { writeTinyModel, TINY_MODEL } from "./tiny-gguf/make-tiny-model";
import { assertPortFree, imagePath, installImage, killTree } from "./deploy/image";

const root = path.resolve(import.meta.dirname, "..");
const basePath = process.env.E2E_BASE_PATH ?? "/llm";
const port = Number(process.env.E2E_IMAGE_PORT ?? 3230);
const origin = `http://localhost:${port}`;
const B = basePath;

function fail(msg: string): never {
  console.error(`test-image: ${msg}`);
  process.exit(1);
}

const img = (() => {
  try {
    return installImage(basePath);
  } catch (e) {
    fail((e as Error).message);
  }
})();
const { appDir, dataDir, runtime, user, asRoot, copied, asImageUser, argv, fsRoot } = img;
assert.ok(copied >= 3, "the runtime stage copies the standalone server, static assets and public/");
const env: Record<string, string> = {
  ...img.imageEnv,
  PATH: imagePath(),
  // what an operator passes with `docker run -e` / the compose env file
  PORT: String(port),
  AUTH_SECRET: "image-test-secret-0123456789abcdefghijklmnop",
  PUBLIC_URL: origin,
  LLAMA_THREADS: "1",
  // tini is not PID 1 here; as a subreaper it still forwards signals and reaps
  TINI_SUBREAPER: "1",
};
// (Next's types make NODE_ENV required in ProcessEnv; the image's ENV sets it)
const procEnv = env as unknown as NodeJS.ProcessEnv;

async function main() {
  // No keep-alive: on SIGTERM Next drains until its open sockets close, and undici keeps this
  // client's idle ones for 4 s — long enough for the api-key batch's own 5 s timer to race the
  // shutdown flush that the lastUsedAt check below is about.
  setGlobalDispatcher(new Agent({ pipelining: 0 }));
  await assertPortFree(port);
  // the image user can write its volume but not the app
  if (asRoot) {
    const canWrite = (dir: string) => {
      try {
        execFileSync(asImageUser(["test", "-w", dir])[0]!, asImageUser(["test", "-w", dir]).slice(1));
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(canWrite(appDir), false, "the app directory must not be writable by the image's user");
    assert.equal(canWrite(path.join(appDir, ".next")), false, "nor .next (read-only root file system)");
    assert.equal(canWrite(dataDir), true, "the data volume is writable by the image's user");
  } else console.warn("test-image: not root, so running as the current user (CI runs as root and switches uid)");
  for (const devOnly of ["node_modules/vitest", "node_modules/typescript", "node_modules/@playwright", "e2e", ".env", "data"]) {
    assert.ok(!existsSync(path.join(appDir, devOnly)), `${devOnly} must not be in the image`);
  }

  // the migrations job (Helm hook): the same command with SWITCHYARD_MIGRATE_ONLY=1 migrates the empty volume and exits 0
  const migrateOut = execFileSync(argv[0]!, argv.slice(1), {
    cwd: appDir,
    env: { ...procEnv, SWITCHYARD_MIGRATE_ONLY: "1" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.match(migrateOut, /"component":"db","msg":"applied migrations: 0001_/, "the image applies the migrations and logs (JSON lines) to stdout");
  assert.match(migrateOut, /exiting \(SWITCHYARD_MIGRATE_ONLY=1\)/);

  console.log(`test-image: ${argv.join(" ")} in ${appDir} (uid ${asRoot ? user.uid : process.getuid?.()})`);
  const child = spawn(argv[0]!, argv.slice(1), { cwd: appDir, env: procEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => {
    stderr += d;
    process.stderr.write(d);
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let ended = false;
  void exited.then(() => (ended = true));
  try {
    // readiness: the database (created by the server on the volume) and every migration applied
    let ready: { status: string; checks: Record<string, string> } | undefined;
    for (let i = 0; i < 240 && !ended; i++) {
      try {
        const r = await fetch(`${origin}${B}/api/health?ready`);
        if (r.status === 200) {
          ready = (await r.json()) as typeof ready;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(ready, `the server never became ready:\n${stdout}\n${stderr}`);
    assert.deepEqual(ready.checks, { database: "ok", migrations: "ok" });
    assert.match(stdout, /"component":"ratelimit","msg":"limits kept in this process/, "the server logs (JSON lines) to stdout");
    const dbFile = path.join(dataDir, "switchyard.db");
    assert.ok(existsSync(dbFile), "the SQLite database lives on the volume");

    // the HEALTHCHECK, run as the image would
    const hc = runtime.healthcheck!.cmd;
    execFileSync(asImageUser(hc)[0]!, asImageUser(hc).slice(1), { env: procEnv, cwd: appDir });

    // a model, a tenant and a key, with the CLI against the same database
    const modelFile = path.join(dataDir, "models/tiny.gguf");
    writeTinyModel(modelFile);
    if (asRoot) chownSync(path.dirname(modelFile), user.uid, user.gid);
    const cliEnv = { ...process.env, DATABASE_URL: env.DATABASE_URL!, AUTH_SECRET: env.AUTH_SECRET!, BASE_PATH: basePath };
    const cli = (...a: string[]) =>
      execFileSync(path.join(root, "node_modules/.bin/tsx"), ["server/cli/main.ts", ...a], { cwd: root, env: cliEnv, encoding: "utf8" });
    cli("model", "add", modelFile, "--name", "tiny", "--ctx", "4096", "--parallel", "2", "--threads", "1");
    cli("tenant", "create", "--slug", "img", "--name", "Image test");
    const key = /sk-sy-[A-Za-z0-9]+/.exec(cli("key", "create", "--tenant", "img", "--name", "image"))?.[0];
    assert.ok(key, "key create printed a key");
    const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };

    // the console: sign-in page with assets from .next/static, under the base path
    const signin = await fetch(`${origin}${B}/`, { redirect: "follow" });
    assert.equal(signin.status, 200);
    assert.equal(signin.url, `${origin}${B}/signin`);
    const html = await signin.text();
    const asset = new RegExp(`${B}/_next/static/[^"]+\\.js`).exec(html)?.[0];
    assert.ok(asset, "the sign-in page references its scripts under the base path");
    assert.equal((await fetch(`${origin}${asset}`)).status, 200, `static asset ${asset}`);
    assert.equal((await fetch(`${origin}${B}/robots.txt`)).status, 200, "public/ is served");

    // /docs and its own (traced-in) assets
    const docs = await fetch(`${origin}${B}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /SwaggerUIBundle/);
    const bundle = await fetch(`${origin}${B}/docs/assets/swagger-ui-bundle.js`);
    assert.equal(bundle.status, 200, "swagger-ui assets are in the image");
    assert.ok((await bundle.arrayBuffer()).byteLength > 100_000);
    assert.equal((await fetch(`${origin}${B}/api/v1/openapi.json`)).status, 200);

    // /api/v1 on the local model (llama.cpp's prebuilt binary from the image)
    const chat = await fetch(`${origin}${B}/api/v1/chat/completions`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }] }),
    });
    const chatBody = await chat.text();
    assert.equal(chat.status, 200, chatBody);
    assert.equal((JSON.parse(chatBody) as { choices: { message: { content: string } }[] }).choices[0]!.message.content, TINY_MODEL.chatReply);

    // SIGTERM while a stream runs: the usage row is still written, and so is the lastUsedAt of
    // the stream's key (a fresh one). The key batch is written LAST_USED_FLUSH_MS (5 s) after
    // its first key: wait until the chat's batch is written, so the fresh key starts a new one
    // and a lastUsedAt earlier than 5 s after the request can only come from the shutdown flush.
    const keyRow = (name: string) => {
      const d = new Database(dbFile, { readonly: true });
      try {
        return d.prepare("SELECT id, lastUsedAt FROM ApiKey WHERE name = ?").get(name) as { id: string; lastUsedAt: string | null } | undefined;
      } finally {
        d.close();
      }
    };
    for (let i = 0; i < 100 && !keyRow("image")?.lastUsedAt; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(keyRow("image")?.lastUsedAt, "the chat's key batch is written within its interval");
    const termKey = /sk-sy-[A-Za-z0-9]+/.exec(cli("key", "create", "--tenant", "img", "--name", "term"))?.[0];
    assert.ok(termKey, "key create printed a key");
    const LAST_USED_FLUSH_MS = 5_000;
    const sentAt = Date.now();
    const stream = await fetch(`${origin}${B}/api/v1/completions`, {
      method: "POST",
      headers: { ...auth, authorization: `Bearer ${termKey}`, "x-request-id": `image-term-${Date.now()}` },
      body: JSON.stringify({ model: "tiny", prompt: "Once upon a time", max_tokens: 4000, stream: true }),
    });
    assert.equal(stream.status, 200);
    const requestId = stream.headers.get("x-request-id")!;
    const reader = stream.body!.getReader();
    const dec = new TextDecoder();
    let seen = "";
    while (!/"text":"[^"]/.test(seen)) {
      const { value, done } = await reader.read();
      assert.ok(!done, `stream ended before its first token: ${seen}`);
      seen += dec.decode(value, { stream: true });
    }
    assert.equal(keyRow("term")?.lastUsedAt ?? null, null, "lastUsedAt is still waiting in its batch when the signal comes");
    child.kill("SIGTERM"); // the init process (tini) forwards it to node
    try {
      for (;;) if ((await reader.read()).done) break;
    } catch {
      /* closed by the server */
    }
    // Next's own handler exits 143 (128 + SIGTERM) once our flush is done (shutdown.ts); tini passes it on
    assert.ok([0, 143].includes((await exited) ?? -1), `exit status after SIGTERM\n${stderr}`);
    assert.match(stderr, /\[shutdown\] usage log: \d+ rows written, 0 left, 0 dropped/);
    const db = new Database(dbFile, { readonly: true });
    const row = db
      .prepare("SELECT status, errorCode, stream, completionTokens, apiKeyId FROM RequestLog WHERE requestId = ?")
      .get(requestId) as { status: string; errorCode: string; stream: number; completionTokens: number; apiKeyId: string } | undefined;
    db.close();
    assert.ok(row, "the interrupted stream has its usage row");
    const term = keyRow("term");
    assert.equal(row.apiKeyId, term?.id, "logged under the stream's key");
    assert.ok(term?.lastUsedAt, "the key's lastUsedAt is written by the time the server exits");
    // (the shutdown takes well under a second here: see the dispatcher at the top)
    const after = Date.parse(term.lastUsedAt) - sentAt;
    assert.ok(
      after < LAST_USED_FLUSH_MS,
      `lastUsedAt came ${after} ms after the request: from the batch's timer, not from the shutdown flush — ` +
        "the shutdown hook flushed another batch than the one the /v1 route filled",
    );
    assert.equal(row.status, "error");
    assert.equal(row.errorCode, "shutting_down");
    assert.equal(row.stream, 1);
    assert.ok(row.completionTokens > 0, "with the tokens it produced");
    console.log(`test-image: ok (${copied} COPYs, uid ${asRoot ? user.uid : "current"}, base path "${B}")`);
  } finally {
    // tini puts node in a process group of its own: kill the tree
    if (!ended && child.pid) killTree(child.pid);
    if (!process.env.KEEP_IMAGE_DIR) rmSync(fsRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
