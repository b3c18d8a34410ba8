/**
 * deploy/compose/compose.yaml, checked offline (no Docker engine here): its structure,
 * the app's environment after Compose-style interpolation (validated by the app's own
 * env parser), and the nginx rewrite, executed with sed on the e2e-tested nginx file.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderSiteConfig } from "../../e2e/nginx";
import { parseServerEnv } from "../../server/env";
import { parseDockerfile } from "./dockerfile";

const root = path.resolve(import.meta.dirname, "../..");
const dir = path.join(root, "deploy/compose");
const read = (p: string) => readFileSync(path.join(root, p), "utf8");

/** Compose's interpolation: $$, ${V}, ${V:-default}, ${V-default}, ${V:?error}, ${V?error}. */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (m, name: string | undefined, colon: string, op: string, arg: string) => {
    if (m === "$$") return "$";
    const v = vars[name!];
    const missing = v === undefined || (colon === ":" && v === "");
    if (op === "-") return missing ? arg : v!;
    if (op === "?") {
      if (missing) throw new Error(`${name}: ${arg}`);
      return v!;
    }
    return v ?? "";
  });
}

function envFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

type Service = {
  image?: string;
  profiles?: string[];
  build?: { context: string; target?: string; args?: Record<string, string> };
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  command?: string[];
  ports?: string[];
};
type Compose = { services: Record<string, Service>; volumes: Record<string, unknown> };

const example = envFile(readFileSync(path.join(dir, ".env.example"), "utf8"));
const secrets = { ...example, AUTH_SECRET: "x".repeat(64), POSTGRES_PASSWORD: "pw0123456789" };
const load = (vars: Record<string, string | undefined>) => parse(interpolate(readFileSync(path.join(dir, "compose.yaml"), "utf8"), vars)) as Compose;

describe("deploy/compose/compose.yaml", () => {
  const c = load(secrets);
  const s = c.services;

  it("runs two replicas of the image on PostgreSQL and Redis, started once both are healthy", () => {
    expect(Object.keys(s).sort()).toEqual(["cli", "grafana", "llama-server", "nginx", "postgres", "prometheus", "redis", "switchyard"]);
    const app = s.switchyard!;
    expect(app.deploy?.replicas).toBe(2);
    expect(app.build).toMatchObject({ context: "../..", args: { BASE_PATH: "/llm" } });
    expect(app.depends_on).toEqual({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    for (const dep of ["postgres", "redis"]) expect(s[dep]!.healthcheck?.test.length).toBeGreaterThan(1);
    // nginx waits for the image's own HEALTHCHECK
    expect(parseDockerfile(read("Dockerfile")).at(-1)!.healthcheck).toBeDefined();
    expect(s.nginx!.depends_on).toEqual({ switchyard: { condition: "service_healthy" } });
    for (const name of ["postgres", "redis", "switchyard", "nginx"]) expect(s[name]!.profiles, name).toBeUndefined();
    expect(s["llama-server"]!.profiles).toEqual(["llama"]);
    expect(s.prometheus!.profiles).toEqual(["monitoring"]);
    expect(s.grafana!.profiles).toEqual(["monitoring"]);
    expect(s.cli!.profiles).toEqual(["tools"]);
    expect(s.cli!.build?.target).toBe("build");
    expect(parseDockerfile(read("Dockerfile")).map((st) => st.name)).toContain("build");
  });

  it("keeps the root file system read-only with state on named volumes at the image's VOLUME", () => {
    const app = s.switchyard!;
    expect(app.read_only).toBe(true);
    expect(app.tmpfs).toEqual(["/tmp"]);
    const [volume] = parseDockerfile(read("Dockerfile")).at(-1)!.volumes;
    expect(app.volumes).toEqual([`models:${volume}`]);
    const named = Object.values(s)
      .flatMap((x) => x.volumes ?? [])
      .map((v) => v.split(":")[0]!)
      .filter((v) => !v.startsWith("."));
    for (const v of named) expect(Object.keys(c.volumes)).toContain(v);
  });

  it("gives the app a valid configuration (checked by the app's own parser) with shared limiter state", () => {
    const env = s.switchyard!.environment!;
    const parsed = parseServerEnv({ ...env, BASE_PATH: "/llm" }, "/llm");
    expect(parsed.DB_PROVIDER).toBe("postgresql");
    expect(parsed.DATABASE_URL).toBe("postgresql://switchyard:pw0123456789@postgres:5432/switchyard");
    expect(parsed.REDIS_URL).toBe("redis://redis:6379/0");
    expect(parsed.TRUST_PROXY).toBe(1);
    expect(parsed.APP_URL).toBe("http://localhost:8080/llm");
    expect(s.cli!.environment).toEqual(env);
    expect(s.postgres!.environment!.POSTGRES_PASSWORD).toBe("pw0123456789");
  });

  it("refuses to start without the secrets from the env file", () => {
    expect(() => load({ ...secrets, AUTH_SECRET: "" })).toThrow(/AUTH_SECRET/);
    expect(() => load({ ...secrets, POSTGRES_PASSWORD: undefined })).toThrow(/POSTGRES_PASSWORD/);
    // the example itself ships no secret
    expect(example.AUTH_SECRET).toBe("");
    expect(example.POSTGRES_PASSWORD).toBe("");
  });

  it.each(["/llm", "/ai/gateway"])("serves the e2e-tested nginx config with the replicas as upstream (BASE_PATH=%s)", (bp) => {
    const cmd = load({ ...secrets, BASE_PATH: bp, SERVER_NAME: "gw.example.org" }).services.nginx!.command!;
    expect(cmd.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    const out = path.join(mkdtempSync(path.join(tmpdir(), "compose-nginx-")), "default.conf");
    const [render, start] = cmd[2]!.split(" && ");
    expect(start).toBe("exec nginx -g 'daemon off;'");
    execFileSync("/bin/sh", ["-c", render!.replace("/etc/switchyard/switchyard.conf", path.join(root, "deploy/nginx/switchyard.conf")).replace("/etc/nginx/conf.d/default.conf", out)]);
    const expected = renderSiteConfig(read("deploy/nginx/switchyard.conf"), { basePath: bp, appPort: 3000, listen: "80" })
      .replace("server 127.0.0.1:3000;", "server switchyard:3000;")
      .replace("server_name localhost;", "server_name gw.example.org;");
    expect(readFileSync(out, "utf8")).toBe(expected);
    const volumes = load(secrets).services.nginx!.volumes!;
    expect(volumes).toEqual(["../nginx/switchyard.conf:/etc/switchyard/switchyard.conf:ro"]);
  });

  it("scrapes every replica's metrics at the base path", () => {
    const prom = parse(readFileSync(path.join(dir, "prometheus/prometheus.yml"), "utf8")) as {
      scrape_configs: { metrics_path: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    expect(prom.scrape_configs[0]!.metrics_path).toBe(`${example.BASE_PATH}/metrics`);
    expect(prom.scrape_configs[0]!.dns_sd_configs[0]).toMatchObject({ names: ["switchyard"], port: 3000 });
  });
});

describe("interpolate", () => {
  it("follows Compose's rules for defaults, required values and $$", () => {
    expect(interpolate("${A:-d} ${B-d} ${C:-d} $$X ${D}", { A: "", B: "", C: "c" })).toBe("d  c $X ");
    expect(() => interpolate("${A:?need A}", { A: "" })).toThrow("A: need A");
    expect(interpolate("${A?need A}", { A: "" })).toBe("");
  });
});
