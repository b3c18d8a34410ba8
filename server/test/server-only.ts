/**
 * Lets a plain Node process (tsx: the /v1 test server, benchmarks) load modules marked
 * `import "server-only"`. The marker package throws unless resolved with the
 * `react-server` condition, which Next sets for route handlers and server components
 * (and vitest replaces it with its empty module, see vitest.config.ts). This adds that
 * condition for the one specifier "server-only" — React and the rest resolve as before.
 * Call it before the first (dynamic) import of such a module.
 */
import { register } from "node:module";

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (specifier !== "server-only") return next(specifier, context);
  return next(specifier, { ...context, conditions: [...context.conditions, "react-server"] });
}`;

let registered = false;

export function allowServerOnly(): void {
  if (registered) return;
  registered = true;
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
}
