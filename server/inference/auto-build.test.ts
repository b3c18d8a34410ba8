import { describe, expect, it } from "vitest";
import { type AutoBuildFacts, type AutoBuildStatus, autoBuildDecision } from "./auto-build";
import { cpuInfo, defaultThreads } from "./llama-runtime";

const facts = (over: Partial<AutoBuildFacts> = {}): AutoBuildFacts => ({
  setting: undefined,
  nativeUsable: false,
  cpuFlagsKnown: true,
  hasTools: true,
  status: null,
  patchSet: "p1",
  ...over,
});
const status = (state: AutoBuildStatus["state"], patchSet = "p1"): AutoBuildStatus => ({
  state,
  pid: 1,
  startedAt: "2026-12-01T00:00:00Z",
  finishedAt: null,
  exitCode: null,
  log: "data/engine/auto-build.log",
  patchSet,
});

describe("autoBuildDecision", () => {
  it("builds on a fresh machine with the tools", () => {
    expect(autoBuildDecision(facts())).toEqual({ start: true });
    expect(autoBuildDecision(facts({ status: status("interrupted") }))).toEqual({ start: true });
    // built for the current patch set, but not usable (wiped by npm ci, another CPU): again
    expect(autoBuildDecision(facts({ status: status("built") }))).toEqual({ start: true });
  });

  it("does not build when it is off, not needed, impossible, running or failed for this patch set", () => {
    expect(autoBuildDecision(facts({ setting: "off" }))).toMatchObject({ start: false, why: "ENGINE_AUTO_BUILD=off" });
    expect(autoBuildDecision(facts({ nativeUsable: true }))).toMatchObject({ start: false });
    expect(autoBuildDecision(facts({ cpuFlagsKnown: false }))).toMatchObject({ start: false });
    expect(autoBuildDecision(facts({ hasTools: false }))).toMatchObject({ start: false, why: expect.stringMatching(/cmake/) });
    expect(autoBuildDecision(facts({ status: status("building") }))).toMatchObject({ start: false, why: expect.stringMatching(/already building/) });
    expect(autoBuildDecision(facts({ status: status("failed") }))).toMatchObject({ start: false, why: expect.stringMatching(/failed/) });
    // a failure with an older patch set is retried: the source changed
    expect(autoBuildDecision(facts({ status: status("failed", "p0") }))).toEqual({ start: true });
  });
});

describe("defaultThreads", () => {
  it("is 1 on the prebuilt CPU binary (never slower than 1 thread), the physical cores otherwise, LLAMA_THREADS first", () => {
    const saved = process.env.LLAMA_THREADS;
    delete process.env.LLAMA_THREADS;
    try {
      expect(defaultThreads("prebuilt")).toBe(1);
      expect(defaultThreads("native")).toBe(cpuInfo().physicalCores);
      expect(defaultThreads("prebuilt", "cuda")).toBe(cpuInfo().physicalCores);
      expect(defaultThreads()).toBe(cpuInfo().physicalCores);
      process.env.LLAMA_THREADS = "3";
      expect(defaultThreads("prebuilt")).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.LLAMA_THREADS;
      else process.env.LLAMA_THREADS = saved;
    }
  });
});
