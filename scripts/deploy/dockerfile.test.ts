import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { numericUser, parseDockerfile, startCommand } from "./dockerfile";

const root = path.resolve(import.meta.dirname, "../..");
const shipped = () => readFileSync(path.join(root, "Dockerfile"), "utf8");

describe("parseDockerfile", () => {
  it("reads stages, args, env substitution, copies and exec-form commands", () => {
    const stages = parseDockerfile(
      [
        "ARG IMG=debian:12",
        "FROM ${IMG} AS build",
        "WORKDIR /src",
        "FROM $IMG",
        "ARG BP=",
        "# a comment",
        "RUN a \\",
        "  # dropped",
        "  && b",
        "WORKDIR /app",
        "WORKDIR sub",
        "COPY --from=build --chown=1:1 /src/x /src/y ./",
        "ENV P=${BP}/z",
        'ENV Q="quoted value"',
        "USER 7:8",
        'HEALTHCHECK --interval=5s --retries=2 CMD ["true"]',
        'ENTRYPOINT ["/tini", "--"]',
        'CMD ["node", "server.js"]',
      ].join("\n"),
      { BP: "/llm" },
    );
    expect(stages).toHaveLength(2);
    const [b, r] = stages as [NonNullable<(typeof stages)[0]>, NonNullable<(typeof stages)[1]>];
    expect(b).toMatchObject({ name: "build", base: "debian:12", workdir: "/src" });
    expect(r.workdir).toBe("/app/sub");
    expect(r.env).toEqual({ P: "/llm/z", Q: "quoted value" });
    expect(r.copies).toEqual([{ from: "build", chown: "1:1", sources: ["/src/x", "/src/y"], dest: "./" }]);
    expect(r.instructions.find((i) => i.op === "RUN")!.args).toBe("a  && b");
    expect(r.healthcheck).toEqual({ options: { interval: "5s", retries: "2" }, cmd: ["true"] });
    expect(startCommand(r)).toEqual(["/tini", "--", "node", "server.js"]);
    expect(numericUser(r.user)).toEqual({ uid: 7, gid: 8 });
  });

  it("refuses forms it would otherwise misread", () => {
    expect(() => parseDockerfile("FROM x\nCMD node server.js")).toThrow(/exec \(JSON array\) form/);
    expect(() => parseDockerfile("FROM x\nENV A=1 B=2")).toThrow(/one ENV/);
    expect(() => parseDockerfile("FROM x\nENV A=${NOPE}")).toThrow(/NOPE is not a declared/);
    expect(() => parseDockerfile("RUN x")).toThrow(/before the first FROM/);
    expect(() => numericUser("node")).toThrow(/numeric/);
  });
});

describe("the shipped Dockerfile", () => {
  const stages = parseDockerfile(shipped(), { BASE_PATH: "/llm" });
  const runtime = stages.at(-1)!;

  it("builds on Debian (bookworm-slim), not Alpine, and runs as a numeric non-root user", () => {
    for (const s of stages) expect(s.base).not.toMatch(/alpine/i);
    expect(stages[0]!.base).toBe("node:20-bookworm-slim");
    expect(runtime.base).toBe("node:20-bookworm-slim");
    expect(numericUser(runtime.user).uid).toBeGreaterThan(0);
  });

  it("bakes the BASE_PATH build arg in, keeps state on /data and starts node under an init", () => {
    expect(runtime.env.BASE_PATH).toBe("/llm");
    expect(parseDockerfile(shipped()).at(-1)!.env.BASE_PATH).toBe("");
    expect(runtime.volumes).toEqual(["/data"]);
    expect(runtime.env.DATABASE_URL).toMatch(/^file:\/data\//);
    expect(runtime.env.HOSTNAME).toBe("0.0.0.0");
    expect(runtime.expose).toEqual([runtime.env.PORT]);
    expect(startCommand(runtime)).toEqual(["/usr/bin/tini", "--", "node", "server.js"]);
    expect(runtime.healthcheck!.cmd.join(" ")).toContain("/api/health");
  });

  it("takes the standalone server, its static assets and public/ from the build stage", () => {
    const build = stages.find((s) => s.name === "build")!;
    const fromBuild = runtime.copies.filter((c) => c.from === "build").flatMap((c) => c.sources);
    for (const p of [".next/standalone", ".next/static", "public"]) expect(fromBuild).toContain(`${build.workdir}/${p}`);
    // the CUDA variant switches both knobs
    const cuda = parseDockerfile(shipped(), { LLAMA_BINARIES: "cuda", RUNTIME_IMAGE: "nvidia/cuda:12.6.3-runtime-ubuntu24.04" });
    expect(cuda.at(-1)!.base).toBe("nvidia/cuda:12.6.3-runtime-ubuntu24.04");
    expect(build.instructions.some((i) => i.op === "RUN" && i.args.includes('LLAMA_BINARIES="$LLAMA_BINARIES" npm run build'))).toBe(true);
  });
});
