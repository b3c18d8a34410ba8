/**
 * What must never be in `.next/standalone` (and hence the image): local state, secrets
 * and dev-only files. next.config.ts passes these to `outputFileTracingExcludes`, which
 * filters route traces, but not the trace of instrumentation.ts, which some server
 * modules make "the whole project" (paths resolved from process.cwd()). So `npm run
 * build` also runs this file to delete them from the standalone folder afterwards.
 * Patterns: project-relative, `**` any depth, `*` within one path segment.
 */
import { existsSync, readdirSync, rmSync, rmdirSync } from "node:fs";
import path from "node:path";

export const STANDALONE_EXCLUDES = [
  "./data/**",
  "./.env*",
  "./.tmp/**",
  "./e2e/**",
  "./bench/**",
  "./scripts/**",
  "./docs/**",
  "./deploy/**",
  "./**/*.test.ts",
  "./*.md",
  "./package-lock.json",
  "./tsconfig.tsbuildinfo",
  "./playwright.config.ts",
  "./vitest.config.ts",
  "./eslint.config.mjs",
  "./Dockerfile",
];

export function globToRegExp(glob: string): RegExp {
  let re = "";
  const g = glob.replace(/^\.\//, "");
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === "*" && g[i + 1] === "*") {
      if (g[i + 2] === "/") {
        re += "(?:.*/)?";
        i += 2;
      } else {
        re += ".*";
        i += 1;
      }
    } else if (c === "*") re += "[^/]*";
    else re += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Deletes matching files below `dir` (node_modules and .next are left alone); returns them. */
export function pruneStandalone(dir: string, patterns = STANDALONE_EXCLUDES): string[] {
  const res = patterns.map(globToRegExp);
  const removed: string[] = [];
  const walk = (rel: string): boolean => {
    const abs = path.join(dir, rel);
    let empty = true;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && (e.name === "node_modules" || e.name === ".next")) {
        empty = false;
        continue;
      }
      if (e.isDirectory()) {
        if (walk(r)) rmdirSync(path.join(dir, r));
        else empty = false;
      } else if (res.some((x) => x.test(r))) {
        rmSync(path.join(dir, r));
        removed.push(r);
      } else empty = false;
    }
    return empty && rel !== "";
  };
  walk("");
  return removed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const dir = path.resolve(import.meta.dirname, "../../.next/standalone");
  if (existsSync(dir)) console.log(`standalone: pruned ${pruneStandalone(dir).length} dev-only files`);
}
