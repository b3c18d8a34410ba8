/**
 * "Installs" the container image without Docker: reads the Dockerfile's runtime stage
 * and does its COPYs from the build stage (our `.next/…`, `public/`) into an empty temp
 * directory standing for the image's file system. Used by scripts/test-image.ts and
 * scripts/test-topology.ts. Needs a build for `basePath`.
 */
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { numericUser, parseDockerfile, startCommand, type Stage } from "./dockerfile";

export const repoRoot = path.resolve(import.meta.dirname, "../..");

export interface InstalledImage {
  fsRoot: string;
  appDir: string;
  /** the VOLUME, inside fsRoot */
  dataDir: string;
  volume: string;
  runtime: Stage;
  user: { uid: number; gid: number };
  asRoot: boolean;
  copied: number;
  /** the image's ENV with paths into the volume pointed at dataDir */
  imageEnv: Record<string, string>;
  /** the image's ENTRYPOINT + CMD, run as its USER when we are root */
  argv: string[];
  asImageUser(argv: string[]): string[];
}

export function installImage(basePath: string, prefix = "switchyard-image-"): InstalledImage {
  const root = repoRoot;
  if (!existsSync(path.join(root, ".next/standalone/server.js"))) throw new Error("no .next/standalone/server.js: build first (BASE_PATH=/llm npm run build)");
  const built = (JSON.parse(readFileSync(path.join(root, ".next/routes-manifest.json"), "utf8")) as { basePath?: string }).basePath ?? "";
  if (built !== basePath) throw new Error(`the build is for BASE_PATH="${built}", this run wants "${basePath}"`);

  const stages = parseDockerfile(readFileSync(path.join(root, "Dockerfile"), "utf8"), { BASE_PATH: basePath });
  const runtime = stages.at(-1)!;
  const build = stages.find((s) => s.name === "build");
  if (!build) throw new Error("the Dockerfile has no stage named build");
  const user = numericUser(runtime.user);
  const [volume] = runtime.volumes;
  if (!volume) throw new Error("the runtime stage declares no VOLUME for its data");

  const fsRoot = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(fsRoot, 0o755);
  const inImage = (p: string) => path.join(fsRoot, p);
  const appDir = inImage(runtime.workdir);
  const dataDir = inImage(volume);
  mkdirSync(appDir, { recursive: true });
  let copied = 0;
  for (const c of runtime.copies) {
    if (c.from !== build.name) continue;
    for (const src of c.sources) {
      if (!src.startsWith(`${build.workdir}/`)) continue; // e.g. the node binary: we run the machine's node
      const from = path.join(root, src.slice(build.workdir.length + 1));
      const to = c.dest.startsWith("/") ? inImage(c.dest) : path.join(appDir, c.dest);
      if (!existsSync(from)) throw new Error(`COPY source ${src} does not exist in the build (${from})`);
      cpSync(from, to, { recursive: true, verbatimSymlinks: true });
      copied++;
    }
  }
  mkdirSync(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dataDir, user.uid, user.gid);

  const remap = (v: string) => v.replaceAll(`${volume}/`, `${dataDir}/`).replace(new RegExp(`^${volume}$`), dataDir);
  const imageEnv = Object.fromEntries(Object.entries(runtime.env).map(([k, v]) => [k, remap(v)]));
  const asImageUser = (argv: string[]) =>
    asRoot ? ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", ...argv] : argv;
  const cmd = startCommand(runtime);
  if (cmd[0]!.startsWith("/") && !existsSync(cmd[0]!)) throw new Error(`${cmd[0]} is missing (apt-get install tini)`);
  return { fsRoot, appDir, dataDir, volume, runtime, user, asRoot, copied, imageEnv, argv: asImageUser(cmd), asImageUser };
}

/** PATH for the image's processes: this machine's node stands in for the image's. */
export const imagePath = () => `${path.dirname(process.execPath)}:/usr/bin:/bin`;

/** SIGKILLs a process and all its descendants (tini puts node in a process group of its own). */
export function killTree(pid: number): void {
  const parents = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parents.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  const doomed = [pid];
  for (let i = 0; i < doomed.length; i++) for (const [p, pp] of parents) if (pp === doomed[i]) doomed.push(p);
  // parents first: an nginx master would respawn a killed worker
  for (const p of doomed) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** Fails when something already listens on the port (a stale server would answer for ours). */
export async function assertPortFree(port: number): Promise<void> {
  const { createServer } = await import("node:net");
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", () => reject(new Error(`port ${port} is already in use (a stale server would answer for ours)`)));
    srv.listen(port, "0.0.0.0", () => srv.close(() => resolve()));
  });
}
