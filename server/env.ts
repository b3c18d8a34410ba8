/**
 * The one place environment variables are read and validated.
 *
 * `publicEnv` (BASE_PATH) is safe to read at build time — next.config.ts uses it.
 * `env()` validates everything the server needs, once, and throws an error that
 * names the bad variable. instrumentation.ts calls it at start-up so a bad value
 * stops the process before it serves anything. Add new variables here, nowhere else.
 *
 * Code that needs a few variables without the whole server's (the CLI, the migrator, the
 * engine, anything read per request) uses a per-concern accessor (`inferenceEnv()`,
 * `pathsEnv()`, …): validated the same way, no AUTH_SECRET needed. Writes to the environment
 * (next-auth's NEXTAUTH_URL, node-llama-cpp's CMake options) and child environments go
 * through the small functions at the end of this file.
 */
import { z } from "zod";
import { parseTrustProxy } from "./http/forwarded";

const basePathSchema = z
  .string()
  .trim()
  .default("")
  .transform((v) => (v === "/" ? "" : v.replace(/\/$/, "")))
  .refine((v) => v === "" || /^(\/[A-Za-z0-9._~-]+)+$/.test(v), {
    message: 'must be empty or a path like "/llm" or "/ai/gateway" (letters, digits, . _ ~ -)',
  });

const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

// ---- variables by concern -------------------------------------------------------------
// Each group is validated on its own by an accessor below (for the CLI, scripts and modules
// that need a few variables without the whole server's: no AUTH_SECRET), and every group is
// part of serverSchema, so env() at start-up rejects a bad value in any of them by name.

const logShape = {
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** pino's threshold; `silent` logs nothing */
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
};

/** "1" on, "0" or empty off: the switches deploy manifests set. */
const flag01 = z
  .enum(["0", "1", ""], { message: 'must be "1" (on) or "0" (off)' })
  .default("0")
  .transform((v) => v === "1");

const startupShape = {
  /** pods of a multi-replica deployment whose migrations ran in a job (Helm hook) */
  SWITCHYARD_SKIP_MIGRATE: flag01,
  /** the migrations job: migrate, then exit 0 */
  SWITCHYARD_MIGRATE_ONLY: flag01,
};

const pathsShape = {
  /** where the migrator finds prisma/migrations (default: the working directory) */
  SWITCHYARD_ROOT: optionalString,
  /** where `hf:` models are downloaded */
  SWITCHYARD_MODELS_DIR: z.string().trim().min(1).default("data/models"),
  /** where the native llama.cpp build is recorded (and the background build's log) */
  SWITCHYARD_ENGINE_DIR: z.string().trim().min(1).default("data/engine"),
};

const inferenceShape = {
  /** default generation threads per model (a model's own --threads wins); unset: see defaultThreads() */
  LLAMA_THREADS: optionalString.pipe(z.coerce.number<string | undefined>().int().min(1, "must be a whole number of threads, 1 or more").max(1024).optional()),
  /** "auto" lets node-llama-cpp use CUDA/Vulkan/Metal; unset, "off" or "false": CPU only */
  LLAMA_GPU: z
    .enum(["auto", "off", "false", ""], { message: 'must be "auto" or "off"' })
    .default("off")
    .transform((v): "auto" | false => (v === "auto" ? "auto" : false)),
  /** requests that may wait per local model; beyond it 429 */
  INFERENCE_MAX_QUEUE: z.coerce.number().int().min(1).max(1_000_000).default(64),
  /** Start-up compiles a native llama.cpp in the background when none is usable (server/inference/auto-build.ts). */
  ENGINE_AUTO_BUILD: z.enum(["auto", "off"]).default("auto"),
  /** the node-llama-cpp patch's generation bursts (patches/README.md); "0" turns them off for A/B measurements */
  SWITCHYARD_GENERATION_BURST: z
    .enum(["0", "1", ""], { message: 'must be "1" (on) or "0" (off)' })
    .default("1")
    .transform((v) => v !== "0"),
};

const promptCacheShape = {
  /**
   * Local prompt cache (server/inference/prompt-slots.ts; the pool reads it per request):
   * reuse a KV prefix within the tenant, within one API key, or never.
   */
  LOCAL_PROMPT_CACHE: z.enum(["tenant", "key", "off"]).default("tenant"),
  LOCAL_PROMPT_CACHE_SIMILARITY: z.coerce.number().min(0).max(1).default(0.1),
};

const passwordShape = {
  /** bcrypt cost of new password hashes; tests lower it (never below bcrypt's minimum of 4) */
  PASSWORD_HASH_COST: z.coerce.number().int().min(4).max(15).default(12),
};

const databasePoolShape = {
  /** PostgreSQL: connections per process (node-postgres pool size) */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
};

const serverSchema = z
  .object({
    ...logShape,
    ...startupShape,
    ...pathsShape,
    ...inferenceShape,
    ...promptCacheShape,
    ...passwordShape,
    ...databasePoolShape,
    BASE_PATH: basePathSchema,
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    DATABASE_URL: z
      .string()
      .trim()
      .default("file:./data/switchyard.db")
      .refine((v) => /^(file:|postgres(ql)?:\/\/)/.test(v), {
        message: 'must start with "file:" (SQLite) or "postgresql://" (PostgreSQL)',
      }),
    AUTH_SECRET: z
      .string({ message: "is required (run `npm run setup`, or set 32+ random characters)" })
      .min(32, "must be at least 32 characters"),
    PUBLIC_URL: optionalString.pipe(
      z
        .url({ message: "must be an absolute http(s) URL like https://gateway.example.com" })
        .refine((v) => /^https?:\/\//.test(v) && !/[?#]/.test(v), {
          message: "must be an http(s) origin without query or fragment",
        })
        .optional(),
    ),
    OIDC_ISSUER: optionalString.pipe(z.url().optional()),
    OIDC_CLIENT_ID: optionalString,
    OIDC_CLIENT_SECRET: optionalString,
    OIDC_NAME: z.string().default("Single sign-on"),
    /** largest /api/v1 request body accepted; larger ones get 413 */
    API_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(2 * 1024 * 1024),
    /** reverse-proxy hops whose X-Forwarded-* headers we believe (0 = none); see server/http/forwarded.ts */
    TRUST_PROXY: z
      .string()
      .optional()
      .transform((v, ctx) => {
        const hops = parseTrustProxy(v);
        if (hops === null) {
          ctx.addIssue({ code: "custom", message: 'must be "false", "true" or a number of proxy hops (e.g. 1)' });
          return z.NEVER;
        }
        return hops;
      }),
    /**
     * Shared limiter state (RPM/TPM/concurrency/budget) for several replicas, e.g.
     * redis://localhost:6379/0. Unset: in-process state, correct for one replica only.
     */
    REDIS_URL: optionalString.pipe(
      z
        .string()
        .refine((v) => /^rediss?:\/\/[^\s]+$/.test(v), { message: 'must be a redis:// or rediss:// URL' })
        .optional(),
    ),
    /** What /api/v1 does while Redis is unreachable: admit without limits (open) or answer 503 (closed). */
    RATE_LIMIT_FAIL_MODE: z.enum(["open", "closed"]).default("open"),
    /** How long one limiter round trip to Redis may take before it counts as unreachable (generous: a busy event loop delays replies too). */
    RATE_LIMIT_REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(1000),
    /**
     * Exact-match cache of non-streaming temperature-0 completions, per tenant, in this
     * process: seconds an answer is reused (0 = off).
     */
    RESPONSE_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(0),
    RESPONSE_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(1000),
    /** Responses API `store`: seconds a stored response stays readable (GET, previous_response_id) before it is purged; OpenAI keeps them 30 days. */
    RESPONSES_STORE_TTL_SECONDS: z.coerce.number().int().min(60).max(365 * 86_400).default(30 * 86_400),
    /** Signed requests: how far (seconds) a signature's timestamp may be from the server's clock, either way. */
    SIGNATURE_WINDOW_SECONDS: z.coerce.number().int().min(5).max(3600).default(300),
    /**
     * `on`: in production, <base>/api/v1 requests go straight to their route modules, skipping
     * Next's router (server/http/fast-path.ts); `off`: Next routes them like every other page.
     */
    API_FAST_PATH: z.enum(["on", "off"]).default("on"),
    /** Body logging (opt-in per tenant): the largest stored request+answer document, in bytes; longer text is cut and marked truncated. */
    BODY_LOG_MAX_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
    /** Platform default for how many days usage rows (the request log) are kept; a tenant may set its own. 0 = keep forever. Hourly rollups are kept regardless. */
    USAGE_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(0),
    /** Rows the retention purge deletes per statement: small batches keep each lock short. */
    RETENTION_PURGE_BATCH: z.coerce.number().int().min(10).max(100_000).default(1000),
    /**
     * OpenTelemetry traces (OTLP over HTTP, JSON): the collector's base URL, e.g.
     * http://otel-collector:4318 (spans go to <url>/v1/traces). Unset: tracing is off and costs nothing.
     * The exporter reads the other standard OTEL_EXPORTER_OTLP_* variables (headers, timeout) itself.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url({ message: "must be an http(s) URL like http://localhost:4318" }).optional()),
    /** Overrides the traces URL in full (standard OTel variable; used as given, no /v1/traces added). */
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalString.pipe(z.url({ message: "must be an http(s) URL" }).optional()),
    /** extra headers for the collector, "k=v,k2=v2" (standard OTel variable; e.g. an auth token) */
    OTEL_EXPORTER_OTLP_HEADERS: optionalString,
    /** service.name of the spans */
    OTEL_SERVICE_NAME: z.string().trim().min(1).default("switchyard"),
    /** "true" turns tracing off even with an endpoint set (standard OTel variable) */
    OTEL_SDK_DISABLED: z.enum(["true", "false", ""]).default("false").transform((v) => v === "true"),
    /** standard OTel sampler names; default parentbased_always_on (a caller's sampling decision is followed) */
    OTEL_TRACES_SAMPLER: z
      .enum(["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"])
      .default("parentbased_always_on"),
    /** the ratio (0..1) for the traceidratio samplers */
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
    /**
     * The one currency every price, cost and money budget is in (ISO 4217 code). Costs are summed
     * across models and keys, so a deployment has one; prices in another currency are refused.
     */
    SPEND_CURRENCY: z
      .string()
      .trim()
      .default("USD")
      .transform((v) => v.toUpperCase())
      .refine((v) => /^[A-Z]{3}$/.test(v), { message: "must be a three-letter currency code like USD or EUR" }),
    /**
     * What a local (in-process llama.cpp) model costs per million tokens, input and output alike,
     * when it has no price of its own: a decimal in SPEND_CURRENCY, default 0. To spread a machine's
     * hourly cost over what it serves, set it to cost_per_hour / tokens_per_hour × 1,000,000.
     */
    LOCAL_PRICE_PER_MTOK: z
      .string()
      .trim()
      .default("0")
      .refine((v) => /^\d{1,12}(\.\d{1,9})?$/.test(v), { message: 'must be a decimal amount like "0" or "0.25"' }),
    /** How often (seconds) a replica re-reads the price list; a change made on this replica applies at once. */
    PRICE_REFRESH_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
    /** When set, <base>/metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
    METRICS_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  })
  .superRefine((v, ctx) => {
    const oidc = [v.OIDC_ISSUER, v.OIDC_CLIENT_ID, v.OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({
        code: "custom",
        path: ["OIDC_ISSUER"],
        message: "OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together",
      });
    }
  });

export type ServerEnv = z.infer<typeof serverSchema> & {
  /** Public origin + base path, no trailing slash: the URL users reach the app at. */
  APP_URL: string;
  DB_PROVIDER: "sqlite" | "postgresql";
  OIDC_ENABLED: boolean;
};

export class EnvError extends Error {
  constructor(issues: z.core.$ZodIssue[]) {
    super(
      "Invalid environment:\n" +
        issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`).join("\n"),
    );
    this.name = "EnvError";
  }
}

/** Parses a set of variables; exported so tests can check validation without touching process.env. */
export function parseServerEnv(
  source: Record<string, string | undefined>,
  builtBasePath: string | undefined = undefined,
): ServerEnv {
  const raw: Record<string, string | undefined> = { ...source, AUTH_SECRET: source.AUTH_SECRET ?? source.NEXTAUTH_SECRET };
  // Inside a Next build the base path is baked in; a different one at start would break every URL.
  if (builtBasePath !== undefined) {
    const wanted = raw.BASE_PATH === undefined ? builtBasePath : parseBasePath(raw.BASE_PATH);
    if (wanted !== builtBasePath) {
      throw new EnvError([
        {
          code: "custom",
          path: ["BASE_PATH"],
          message: `the app was built with BASE_PATH="${builtBasePath}" but started with "${wanted}"; the base path is fixed at build time, so rebuild (npm run build) to change it`,
          input: raw.BASE_PATH,
        },
      ]);
    }
    raw.BASE_PATH = builtBasePath;
  }
  const parsed = serverSchema.safeParse(raw);
  if (!parsed.success) throw new EnvError(parsed.error.issues);
  const v = parsed.data;
  const origin = (v.PUBLIC_URL ?? `http://localhost:${v.PORT}`).replace(/\/$/, "");
  return {
    ...v,
    APP_URL: origin + v.BASE_PATH,
    DB_PROVIDER: v.DATABASE_URL.startsWith("file:") ? "sqlite" : "postgresql",
    OIDC_ENABLED: Boolean(v.OIDC_ISSUER),
  };
}

let cached: ServerEnv | undefined;

export function env(): ServerEnv {
  // NEXT_PUBLIC_BASE_PATH is inlined by next.config.ts into the Next bundles; undefined in the CLI and tests.
  cached ??= parseServerEnv(process.env, process.env.NEXT_PUBLIC_BASE_PATH);
  return cached;
}

/** Build-time safe subset. */
export function parseBasePath(value: string | undefined): string {
  const parsed = basePathSchema.safeParse(value ?? "");
  if (!parsed.success) {
    throw new EnvError(parsed.error.issues.map((i) => ({ ...i, path: ["BASE_PATH"] })));
  }
  return parsed.data;
}

export const publicEnv = {
  get BASE_PATH() {
    return parseBasePath(process.env.BASE_PATH);
  },
};

// ---- per-concern accessors ----------------------------------------------------------------

type Shape = Record<string, z.ZodType>;
type Parsed<S extends Shape> = { [K in keyof S]: z.output<S[K]> };

/**
 * An accessor for one group of variables: validated (an EnvError names the bad one) and
 * re-parsed only when one of its raw values changed, so modules may call it per request
 * and a test that sets process.env sees its value.
 */
function concern<S extends Shape>(shape: S): () => Parsed<S> {
  const schema = z.object(shape);
  const names = Object.keys(shape);
  let raw: (string | undefined)[] | undefined;
  let value: Parsed<S> | undefined;
  return () => {
    const now = names.map((n) => process.env[n]);
    if (value && raw && now.every((v, i) => v === raw![i])) return value;
    const parsed = schema.safeParse(Object.fromEntries(names.map((n, i) => [n, now[i]])));
    if (!parsed.success) throw new EnvError(parsed.error.issues);
    raw = now;
    value = parsed.data as Parsed<S>;
    return value;
  };
}

/** LOG_LEVEL and NODE_ENV, for the logger (server/log/logger.ts). */
export const logEnv = concern(logShape);
/** SWITCHYARD_SKIP_MIGRATE, SWITCHYARD_MIGRATE_ONLY (server/startup.ts). */
export const startupEnv = concern(startupShape);
/** SWITCHYARD_ROOT, SWITCHYARD_MODELS_DIR, SWITCHYARD_ENGINE_DIR: also used by the migrator and the CLI without a full server environment. */
export const pathsEnv = concern(pathsShape);
/** The local engine's variables (server/inference/). */
export const inferenceEnv = concern(inferenceShape);
/** LOCAL_PROMPT_CACHE, LOCAL_PROMPT_CACHE_SIMILARITY (read per request by the local pool). */
export const promptCacheEnv = concern(promptCacheShape);
/** PASSWORD_HASH_COST (server/auth/password.ts). */
export const passwordEnv = concern(passwordShape);
/** DATABASE_POOL_SIZE (server/db/client.ts). */
export const databasePoolEnv = concern(databasePoolShape);

/**
 * The base path the Next bundles were built with (next.config.ts inlines NEXT_PUBLIC_BASE_PATH);
 * "" in the CLI and tests. The root layout hands it to client components (app/_lib/base-path.tsx),
 * so no client module reads the environment.
 */
export function builtBasePath(): string {
  return process.env.NEXT_PUBLIC_BASE_PATH ?? "";
}

// ---- writes, and environments of child processes -------------------------------------------

/** next-auth v4 reads its own URL from process.env.NEXTAUTH_URL, nowhere else. */
export function setNextAuthUrl(url: string): void {
  process.env.NEXTAUTH_URL = url;
}

/**
 * Sets (a string) or removes (undefined) variables for code in this process that reads them
 * from process.env itself: node-llama-cpp's build takes custom CMake options from there.
 */
export function setProcessVariables(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/** This process's environment with `overrides`, for a child process. */
export function childProcessEnv(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** The environment the CLI gives its commands (--password-env reads a variable named on the command line). */
export function processVariables(): Record<string, string | undefined> {
  return process.env;
}
