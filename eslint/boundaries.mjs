// Layer boundaries (docs/architecture.md, "Layers"): which folder may import which.
//
//   app/ → transport (server/api/v1, server/trpc, server/cli) → server/services → lower layers
//
// A layer imports the layers below it, never one above; the transports don't import each
// other. Tests and harnesses (*.test.ts, server/test/, bench/, scripts/) may cross layers.
// Client components ("use client") and the client-safe modules they share with the server
// get their own rule below, since no file glob tells a client component from a server one.
import path from "node:path";

const ROOT = import.meta.dirname ? path.resolve(import.meta.dirname, "..") : process.cwd();

// Import specifiers into a server folder: `@/server/<dir>/…` or a relative `../<dir>/…`.
// (Relative imports reach another server folder only through `../`; `./` stays in the folder.)
const into = (...dirs) => `^(@/server/|(\\.\\./)+)(${dirs.join("|")})(/|$)`;
const INTO_APP = "^(@/app/|(\\.\\./)+app/)";

const TRANSPORT = ["api", "trpc", "cli"];
const LOWER = ["inference", "routing", "ratelimit", "auth", "db", "lib", "runtime", "log", "metrics", "telemetry", "http"];

const rule = (...patterns) => ["error", { patterns }];
const p = (regex, message) => ({ regex, message });

const noApp = p(INTO_APP, "server code never imports app/ (route files and pages sit on top of it)");
const noTransport = p(into(...TRANSPORT), "only app/ imports a transport (api/v1, trpc, cli): move shared logic into services");
const noServices = p(into("services", "startup"), "lower layers don't import services: invert the dependency (a type or callback owned by the lower layer)");

const TESTS = ["**/*.test.ts", "**/*.int.test.ts", "server/test/**"];

/** The layer table as ESLint blocks; each file falls in exactly one (later blocks win). */
export const boundaries = [
  {
    name: "boundaries/services",
    files: ["server/services/**/*.ts", "server/startup.ts"],
    ignores: TESTS,
    rules: { "no-restricted-imports": rule(noApp, noTransport) },
  },
  {
    name: "boundaries/api-v1",
    files: ["server/api/**/*.ts"],
    ignores: TESTS,
    rules: { "no-restricted-imports": rule(noApp, p(into("trpc", "cli"), "transports don't import each other")) },
  },
  {
    name: "boundaries/trpc",
    files: ["server/trpc/**/*.ts"],
    ignores: TESTS,
    rules: { "no-restricted-imports": rule(noApp, p(into("api", "cli"), "transports don't import each other")) },
  },
  {
    name: "boundaries/cli",
    files: ["server/cli/**/*.ts"],
    ignores: TESTS,
    rules: { "no-restricted-imports": rule(noApp, p(into("api", "trpc"), "transports don't import each other")) },
  },
  {
    name: "boundaries/lower",
    files: [...LOWER.map((d) => `server/${d}/**/*.ts`), "server/env.ts", "server/errors.ts", "server/health.ts"],
    ignores: TESTS,
    rules: { "no-restricted-imports": rule(noApp, noTransport, noServices) },
  },
  {
    // pure decisions over state handed in: no database, no limiter, no credentials
    name: "boundaries/routing",
    files: ["server/routing/**/*.ts"],
    ignores: TESTS,
    rules: {
      "no-restricted-imports": rule(noApp, noTransport, noServices, p(into("db", "ratelimit", "auth", "http", "telemetry"), "server/routing decides from what it is given; services/routing reads the state")),
    },
  },
  {
    // its collectors read their sources through callbacks the sources register
    name: "boundaries/metrics",
    files: ["server/metrics/**/*.ts"],
    ignores: TESTS,
    rules: {
      "no-restricted-imports": rule(noApp, noTransport, noServices, p(into("inference", "ratelimit", "routing", "db", "http", "telemetry"), "server/metrics imports none of the modules it measures: they register collectors with it")),
    },
  },
  {
    name: "boundaries/foundation",
    files: ["server/lib/**/*.ts", "server/runtime/**/*.ts", "server/log/**/*.ts"],
    ignores: TESTS,
    rules: {
      "no-restricted-imports": rule(noApp, noTransport, noServices, p(into(...LOWER.filter((d) => !["lib", "runtime", "log"].includes(d))), "lib/, runtime/ and log/ are the foundation: they import only each other, env and errors")),
    },
  },
];

// ---- client components ---------------------------------------------------------------

/**
 * Server modules a client component may import values from: zod-only schemas and pure
 * helpers, named here so a server import in one of them is caught (they get the same rule).
 */
const CLIENT_SAFE = /^server\/(services\/[^/]+\/schemas|lib\/money|auth\/principal|auth\/roles|auth\/ip-allowlist)$/;

const resolveSpecifier = (file, spec) => {
  let abs;
  if (spec.startsWith("@/")) abs = path.join(ROOT, spec.slice(2));
  else if (spec.startsWith(".")) abs = path.resolve(path.dirname(file), spec);
  else return null;
  return path.relative(ROOT, abs).split(path.sep).join("/").replace(/\.(ts|tsx|js|mjs)$/, "");
};

const isClientSafeFile = (file) => CLIENT_SAFE.test(path.relative(ROOT, file).split(path.sep).join("/").replace(/\.tsx?$/, ""));

const clientImports = {
  meta: {
    type: "problem",
    docs: { description: "client components (and the client-safe modules) import no server code except types" },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    let client = isClientSafeFile(file);
    const check = (node) => {
      if (!client || !node.source || node.importKind === "type" || node.exportKind === "type") return;
      if (node.specifiers?.length && node.specifiers.every((s) => s.importKind === "type" || s.exportKind === "type")) return;
      const target = resolveSpecifier(file, String(node.source.value));
      if (!target?.startsWith("server/") || CLIENT_SAFE.test(target)) return;
      context.report({
        node: node.source,
        message: `"${node.source.value}" is server code: a client component may import only its types (or a client-safe module: services/*/schemas, lib/money, auth/principal, auth/roles, auth/ip-allowlist)`,
      });
    };
    return {
      Program(program) {
        client ||= program.body.some((s) => s.type === "ExpressionStatement" && s.directive === "use client");
      },
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression(node) {
        if (node.source.type === "Literal") check({ source: node.source });
      },
    };
  },
};

export const clientBoundary = {
  name: "boundaries/client",
  files: ["app/**/*.tsx", "app/**/*.ts", "server/**/*.ts"],
  ignores: TESTS,
  plugins: { switchyard: { rules: { "client-imports": clientImports } } },
  rules: { "switchyard/client-imports": "error" },
};
