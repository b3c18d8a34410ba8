// The leak check sees the logger's output: a child process captured the way test workers are
// (server/test/secret-scan.ts) logs a fake key through pino, and the scan finds it — in JSON
// (production) and in pretty lines (development). Its own capture directory, not the run's:
// the run's scan must stay clean.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../auth/key-format";
import { capturedOutput, scanTexts } from "../test/secret-scan";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CHILD = path.join(ROOT, "server/test/log-leak-child.ts");
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(nodeEnv: "production" | "development") {
  const dir = mkdtempSync(path.join(tmpdir(), "switchyard-log-leak-"));
  dirs.push(dir);
  const key = generateApiKey();
  // output ignored here: this process's own output is captured for the run's scan
  const r = spawnSync(process.execPath, ["--import", "tsx", CHILD, dir, key], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: nodeEnv, LOG_LEVEL: "info" },
    stdio: "ignore",
    timeout: 30_000,
  });
  expect(r.status).toBe(0);
  const lines = capturedOutput(dir).filter(([, text]) => text.includes("leak-test"));
  return { lines, findings: scanTexts(lines, []) };
}

describe.concurrent("the leak scan over the logger's output", () => {
  it.each(["production", "development"] as const)("NODE_ENV=%s: finds a key in a message; redacted fields never carry one", (nodeEnv) => {
    const { lines, findings } = run(nodeEnv);
    expect(lines).toHaveLength(2);
    const [redacted, careless] = lines.map(([, text]) => text);
    expect(redacted).toContain("[redacted]");
    expect(redacted).toContain("req_leak");
    expect(careless).toContain("acme");
    expect(findings).toHaveLength(1);
    expect(findings[0]!.what).toMatch(/API key/);
    expect(findings[0]!.where).toBe(lines[1]![0]);
    if (nodeEnv === "production") expect(JSON.parse(careless!)).toMatchObject({ level: 40, component: "leak-test", requestId: "req_leak" });
  });
});
