import path from "node:path";

/** `file:./data/x.db`, `file:/abs/x.db` or `file:///abs/x.db` → absolute path (relative to cwd). */
export function sqlitePathFromUrl(url: string): string {
  if (!url.startsWith("file:")) throw new Error(`not a SQLite URL: ${url}`);
  let p = url.slice("file:".length).split("?")[0]!;
  if (p.startsWith("//")) p = p.slice(2);
  if (p === ":memory:") return p;
  return path.resolve(/* turbopackIgnore: true */ process.cwd(), p);
}

export function providerOf(url: string): "sqlite" | "postgresql" {
  return url.startsWith("file:") ? "sqlite" : "postgresql";
}
