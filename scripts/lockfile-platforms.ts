/**
 * Keeps `npm ci` working from our lockfile on this offline registry.
 *
 * Some dependencies list optional per-platform binaries (node-llama-cpp: macOS,
 * Windows, riscv64) that the registry mirror we build on does not serve, so
 * `npm install` leaves them out of package-lock.json and npm 11's `npm ci` then
 * refuses the lockfile ("Missing: … from lock file"). This adds lockfile entries
 * for them with their os/cpu constraints, so npm skips them on other platforms
 * and resolves them normally where they apply. Run it after changing dependencies:
 *   npm run lockfile:platforms
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const lockPath = path.join(root, "package-lock.json");
const lock = JSON.parse(readFileSync(lockPath, "utf8")) as {
  packages: Record<string, { version?: string; optionalDependencies?: Record<string, string>; optional?: boolean }>;
};

function platformOf(name: string): { os: string[]; cpu: string[] } | null {
  const m = /(mac|darwin|win|linux)-(arm64|x64|armv7l|riscv64|ia32)/.exec(name);
  if (!m) return null;
  const os = { mac: "darwin", darwin: "darwin", win: "win32", linux: "linux" }[m[1] as "mac"]!;
  const cpu = m[2] === "armv7l" ? "arm" : m[2]!;
  return { os: [os], cpu: [cpu] };
}

let added = 0;
for (const [key, pkg] of Object.entries(lock.packages)) {
  if (!key.endsWith("node_modules/node-llama-cpp")) continue;
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const entry = `node_modules/${dep}`;
    if (lock.packages[entry]) continue;
    const platform = platformOf(dep);
    if (!platform) throw new Error(`don't know the platform of ${dep}`);
    lock.packages[entry] = { version, optional: true, ...platform } as never;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added ? `added ${added} platform entries to package-lock.json` : "package-lock.json already complete");
