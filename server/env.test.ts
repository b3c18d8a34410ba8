import { afterEach, describe, expect, it, vi } from "vitest";
import { EnvError, inferenceEnv, parseBasePath, parseServerEnv, passwordEnv, pathsEnv, promptCacheEnv, publicEnv } from "./env";

const SECRET = "s".repeat(32);
const parse = (vars: Record<string, string | undefined>) => parseServerEnv({ AUTH_SECRET: SECRET, ...vars });

/** The EnvError a bad set of variables produces. */
function envError(vars: Record<string, string | undefined>, withSecret = true): EnvError {
  try {
    parseServerEnv(withSecret ? { AUTH_SECRET: SECRET, ...vars } : vars);
  } catch (e) {
    expect(e).toBeInstanceOf(EnvError);
    return e as EnvError;
  }
  throw new Error(`expected ${JSON.stringify(vars)} to be rejected`);
}

describe("parseServerEnv defaults", () => {
  it("needs only AUTH_SECRET", () => {
    expect(parse({})).toMatchObject({
      NODE_ENV: "development",
      BASE_PATH: "",
      PORT: 3000,
      DATABASE_URL: "file:./data/switchyard.db",
      DB_PROVIDER: "sqlite",
      APP_URL: "http://localhost:3000",
      OIDC_ENABLED: false,
      LOG_LEVEL: "info",
      OIDC_NAME: "Single sign-on",
    });
  });
});

describe("BASE_PATH", () => {
  it.each([
    [undefined, ""],
    ["", ""],
    ["/", ""],
    ["/llm", "/llm"],
    ["/llm/", "/llm"],
    ["  /llm  ", "/llm"],
    ["/ai/gateway", "/ai/gateway"],
    ["/a.b_c~d-e/F9", "/a.b_c~d-e/F9"],
  ])("%j → %j", (raw, want) => {
    expect(parse({ BASE_PATH: raw }).BASE_PATH).toBe(want);
    expect(parseBasePath(raw)).toBe(want);
  });

  it.each(["llm", "llm/", "//", "/llm//x", "/llm x", "/llm?x=1", "/llm#x", "/ü", "https://x.test/llm"])(
    "rejects %j, naming BASE_PATH",
    (raw) => {
      expect(envError({ BASE_PATH: raw }).message).toMatch(/BASE_PATH: must be empty or a path like "\/llm"/);
      expect(() => parseBasePath(raw)).toThrow(/BASE_PATH: must be empty or a path/);
    },
  );

  it("feeds APP_URL", () => {
    expect(parse({ BASE_PATH: "/llm/" }).APP_URL).toBe("http://localhost:3000/llm");
  });
});

describe("BASE_PATH fixed at build time", () => {
  it("uses the built base path when BASE_PATH is unset or names the same path", () => {
    expect(parseServerEnv({ AUTH_SECRET: SECRET }, "/llm")).toMatchObject({ BASE_PATH: "/llm", APP_URL: "http://localhost:3000/llm" });
    expect(parseServerEnv({ AUTH_SECRET: SECRET, BASE_PATH: "/llm/" }, "/llm").BASE_PATH).toBe("/llm");
    expect(parseServerEnv({ AUTH_SECRET: SECRET, BASE_PATH: "/" }, "").BASE_PATH).toBe("");
  });
  it("refuses a different BASE_PATH at start, naming BASE_PATH and both values", () => {
    expect(() => parseServerEnv({ AUTH_SECRET: SECRET, BASE_PATH: "/other" }, "/llm")).toThrow(
      /BASE_PATH: the app was built with BASE_PATH="\/llm" but started with "\/other"/,
    );
    expect(() => parseServerEnv({ AUTH_SECRET: SECRET, BASE_PATH: "/llm" }, "")).toThrow(EnvError);
  });
});

describe("PORT", () => {
  it("accepts 1..65535", () => {
    expect(parse({ PORT: "8080" }).PORT).toBe(8080);
    expect(parse({ PORT: "1" }).PORT).toBe(1);
    expect(parse({ PORT: "65535" }).PORT).toBe(65535);
    expect(parse({ PORT: "8080" }).APP_URL).toBe("http://localhost:8080");
  });
  it.each(["0", "65536", "-1", "80.5", "abc"])("rejects %j, naming PORT", (raw) => {
    expect(envError({ PORT: raw }).message).toMatch(/^ {2}PORT: /m);
  });
});

describe("DATABASE_URL", () => {
  it.each([
    ["file:./data/x.db", "sqlite"],
    ["file:/var/lib/switchyard/x.db", "sqlite"],
    ["postgresql://u:p@db:5432/switchyard", "postgresql"],
    ["postgres://u:p@db/switchyard", "postgresql"],
  ])("%s → %s", (url, provider) => {
    expect(parse({ DATABASE_URL: url })).toMatchObject({ DATABASE_URL: url, DB_PROVIDER: provider });
  });
  it.each(["mysql://u@h/db", "./data/x.db", "http://db", ""])("rejects %j, naming DATABASE_URL", (url) => {
    expect(envError({ DATABASE_URL: url }).message).toMatch(/DATABASE_URL: must start with "file:"/);
  });
});

describe("AUTH_SECRET", () => {
  it("is required", () => {
    expect(envError({}, false).message).toMatch(/AUTH_SECRET: is required/);
  });
  it("must be 32+ characters", () => {
    expect(envError({ AUTH_SECRET: "x".repeat(31) }, false).message).toMatch(/AUTH_SECRET: must be at least 32 characters/);
    expect(parseServerEnv({ AUTH_SECRET: "x".repeat(32) }).AUTH_SECRET).toBe("x".repeat(32));
  });
  it("falls back to NEXTAUTH_SECRET, AUTH_SECRET winning when both are set", () => {
    expect(parseServerEnv({ NEXTAUTH_SECRET: "n".repeat(40) }).AUTH_SECRET).toBe("n".repeat(40));
    expect(parseServerEnv({ NEXTAUTH_SECRET: "n".repeat(40), AUTH_SECRET: SECRET }).AUTH_SECRET).toBe(SECRET);
  });
});

describe("OIDC", () => {
  const all = { OIDC_ISSUER: "https://id.example.com", OIDC_CLIENT_ID: "switchyard", OIDC_CLIENT_SECRET: "shh" };

  it("is off with none set (empty strings count as unset)", () => {
    expect(parse({}).OIDC_ENABLED).toBe(false);
    expect(parse({ OIDC_ISSUER: "", OIDC_CLIENT_ID: " ", OIDC_CLIENT_SECRET: "" }).OIDC_ENABLED).toBe(false);
  });
  it("is on with all three", () => {
    expect(parse(all)).toMatchObject({ OIDC_ENABLED: true, OIDC_ISSUER: "https://id.example.com" });
  });
  it.each([
    ["issuer only", { OIDC_ISSUER: all.OIDC_ISSUER }],
    ["client id only", { OIDC_CLIENT_ID: "x" }],
    ["secret missing", { ...all, OIDC_CLIENT_SECRET: undefined }],
    ["issuer missing", { ...all, OIDC_ISSUER: "" }],
  ])("rejects a partial set (%s), naming all three", (_why, vars) => {
    expect(envError(vars).message).toMatch(/OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together/);
  });
  it("rejects an issuer that is not a URL", () => {
    expect(envError({ ...all, OIDC_ISSUER: "id.example.com" }).message).toMatch(/^ {2}OIDC_ISSUER: /m);
  });
});

describe("PUBLIC_URL and APP_URL", () => {
  it.each([
    [{ PUBLIC_URL: "https://gw.example.com" }, "https://gw.example.com"],
    [{ PUBLIC_URL: "https://gw.example.com/" }, "https://gw.example.com"],
    [{ PUBLIC_URL: "https://gw.example.com/", BASE_PATH: "/llm/" }, "https://gw.example.com/llm"],
    [{ PUBLIC_URL: "http://10.0.0.5:8080", BASE_PATH: "/ai/gw" }, "http://10.0.0.5:8080/ai/gw"],
    [{ PUBLIC_URL: "", PORT: "4000" }, "http://localhost:4000"],
  ])("%j → %s", (vars, appUrl) => {
    expect(parse(vars).APP_URL).toBe(appUrl);
  });
  it.each(["gw.example.com", "ftp://gw.example.com", "https://gw.example.com/?x=1", "https://gw.example.com/#top"])(
    "rejects %j, naming PUBLIC_URL",
    (raw) => {
      expect(envError({ PUBLIC_URL: raw }).message).toMatch(/^ {2}PUBLIC_URL: must be /m);
    },
  );
});

describe("other variables", () => {
  it("validates NODE_ENV and LOG_LEVEL by name", () => {
    expect(envError({ NODE_ENV: "staging" }).message).toMatch(/^ {2}NODE_ENV: /m);
    expect(envError({ LOG_LEVEL: "verbose" }).message).toMatch(/^ {2}LOG_LEVEL: /m);
    expect(parse({ LOG_LEVEL: "debug", NODE_ENV: "production" })).toMatchObject({ LOG_LEVEL: "debug", NODE_ENV: "production" });
  });

  it("reports every bad variable at once", () => {
    const e = envError({ PORT: "nope", BASE_PATH: "llm", DATABASE_URL: "mysql://x" }, false);
    expect(e.name).toBe("EnvError");
    expect(e.message.startsWith("Invalid environment:\n")).toBe(true);
    for (const name of ["PORT", "BASE_PATH", "DATABASE_URL", "AUTH_SECRET"]) expect(e.message).toContain(`  ${name}: `);
  });
});

describe("publicEnv.BASE_PATH", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  it("reads and normalises BASE_PATH from the process environment", () => {
    vi.stubEnv("BASE_PATH", "/console/");
    expect(publicEnv.BASE_PATH).toBe("/console");
    vi.stubEnv("BASE_PATH", "nope");
    expect(() => publicEnv.BASE_PATH).toThrow(/BASE_PATH/);
  });
});

describe("limits, metrics and the response cache", () => {
  it("default to in-process limits failing open, open metrics and no cache", () => {
    const e = parse({});
    expect(e).toMatchObject({ RATE_LIMIT_FAIL_MODE: "open", RATE_LIMIT_REDIS_TIMEOUT_MS: 1000, RESPONSE_CACHE_TTL_SECONDS: 0 });
    expect(e.REDIS_URL).toBeUndefined();
    expect(e.METRICS_TOKEN).toBeUndefined();
  });

  it("accept a redis URL and a fail mode, and name the variable when wrong", () => {
    expect(parse({ REDIS_URL: "redis://:pw@cache:6379/2", RATE_LIMIT_FAIL_MODE: "closed" })).toMatchObject({
      REDIS_URL: "redis://:pw@cache:6379/2",
      RATE_LIMIT_FAIL_MODE: "closed",
    });
    expect(envError({ REDIS_URL: "http://cache:6379" }).message).toContain("REDIS_URL");
    expect(envError({ RATE_LIMIT_FAIL_MODE: "maybe" }).message).toContain("RATE_LIMIT_FAIL_MODE");
    expect(envError({ METRICS_TOKEN: "short" }).message).toContain("METRICS_TOKEN");
  });
});

describe("engine, paths, passwords and start-up switches", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("keep their defaults", () => {
    expect(parse({})).toMatchObject({
      PASSWORD_HASH_COST: 12,
      DATABASE_POOL_SIZE: 10,
      SWITCHYARD_MODELS_DIR: "data/models",
      SWITCHYARD_ENGINE_DIR: "data/engine",
      SWITCHYARD_SKIP_MIGRATE: false,
      SWITCHYARD_MIGRATE_ONLY: false,
      LLAMA_GPU: false,
      INFERENCE_MAX_QUEUE: 64,
      ENGINE_AUTO_BUILD: "auto",
      SWITCHYARD_GENERATION_BURST: true,
      LOCAL_PROMPT_CACHE: "tenant",
      LOCAL_PROMPT_CACHE_SIMILARITY: 0.1,
    });
    expect(parse({}).LLAMA_THREADS).toBeUndefined();
    expect(parse({}).SWITCHYARD_ROOT).toBeUndefined();
  });

  it("accept the values deployments set", () => {
    expect(
      parse({ LLAMA_THREADS: "4", LLAMA_GPU: "auto", SWITCHYARD_SKIP_MIGRATE: "1", SWITCHYARD_GENERATION_BURST: "0", PASSWORD_HASH_COST: "4" }),
    ).toMatchObject({ LLAMA_THREADS: 4, LLAMA_GPU: "auto", SWITCHYARD_SKIP_MIGRATE: true, SWITCHYARD_GENERATION_BURST: false, PASSWORD_HASH_COST: 4 });
    // the Helm chart's "CPU" value and an empty LLAMA_THREADS mean the defaults
    expect(parse({ LLAMA_GPU: "", LLAMA_THREADS: "" })).toMatchObject({ LLAMA_GPU: false });
    expect(parse({ LLAMA_THREADS: "" }).LLAMA_THREADS).toBeUndefined();
  });

  it.each([
    ["LLAMA_THREADS", "0"],
    ["LLAMA_THREADS", "two"],
    ["LLAMA_GPU", "cuda"],
    ["INFERENCE_MAX_QUEUE", "0"],
    ["PASSWORD_HASH_COST", "3"],
    ["PASSWORD_HASH_COST", "16"],
    ["DATABASE_POOL_SIZE", "x"],
    ["SWITCHYARD_SKIP_MIGRATE", "true"],
    ["SWITCHYARD_MIGRATE_ONLY", "yes"],
    ["SWITCHYARD_GENERATION_BURST", "off"],
    ["SWITCHYARD_MODELS_DIR", " "],
  ])("reject %s=%j by name", (name, value) => {
    expect(envError({ [name]: value }).message).toMatch(new RegExp(`^ {2}${name}: `, "m"));
  });

  it("are readable without AUTH_SECRET, per concern, and follow process.env", () => {
    vi.stubEnv("AUTH_SECRET", undefined);
    vi.stubEnv("LLAMA_THREADS", "3");
    expect(inferenceEnv().LLAMA_THREADS).toBe(3);
    vi.stubEnv("LLAMA_THREADS", "5");
    expect(inferenceEnv().LLAMA_THREADS).toBe(5);
    vi.stubEnv("SWITCHYARD_ROOT", "/srv/app");
    expect(pathsEnv().SWITCHYARD_ROOT).toBe("/srv/app");
    vi.stubEnv("LOCAL_PROMPT_CACHE", "key");
    expect(promptCacheEnv().LOCAL_PROMPT_CACHE).toBe("key");
    vi.stubEnv("PASSWORD_HASH_COST", "99");
    expect(() => passwordEnv()).toThrow(/PASSWORD_HASH_COST/);
  });
});
