/**
 * `backend …` and `alias …` as people run them (a real tsx subprocess against the
 * run's database), with a fake OpenAI-compatible upstream on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "../db/client";
import { runCli } from "../test/cli";
import { makeTenant, uniq } from "../test/fixtures";
import { type FakeUpstream, startFakeUpstream } from "../test/fake-upstream";

const cli = (args: string[], env: Record<string, string> = {}, input = "") => runCli(args, { env, input });

let up: FakeUpstream;
beforeAll(async () => {
  up = await startFakeUpstream({ models: ["big", "small"] });
});
afterAll(() => up.close());

describe("backend and alias commands", () => {
  it("add a backend with a credential from the environment, alias it with a fallback, dry-run it, list both", async () => {
    const name = `cli-${uniq()}`;
    const added = await cli(["backend", "add", "--name", name, "--url", up.url, "--credential-env", "UPSTREAM_KEY", "--public"], { UPSTREAM_KEY: "sk-from-env" });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`added backend ${name}`);
    expect(added.stdout).toContain("every tenant");
    expect(added.stdout).toContain("healthy; models: big, small");
    expect(added.stdout).not.toContain("sk-from-env");
    const row = await db().backend.findUniqueOrThrow({ where: { name } });
    expect(row.credentialEnc).not.toContain("sk-from-env");

    const tenant = await makeTenant();
    const alias = `a-${uniq()}`;
    const set = await cli(["alias", "set", "--tenant", tenant.slug, "--alias", alias, "--strategy", "fallback", "--targets", `backend:${name}/big,backend:${name}/small`]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(`created alias ${alias} (version 1): fallback → backend:${row.id}/big, backend:${row.id}/small\n`);
    const again = await cli(["alias", "set", "--tenant", tenant.slug, "--alias", alias, "--strategy", "single", "--targets", `backend:${name}/small`]);
    expect(again.stdout).toContain("(version 2): single");

    const dry = await cli(["alias", "dry-run", "--tenant", tenant.slug, "--alias", alias, "--message", "hello"]);
    expect(dry.stdout).toBe(`chosen: backend:${row.id}/small\nreason: single: single target\nfallbacks: none\n`);

    const list = JSON.parse((await cli(["alias", "list", "--tenant", tenant.slug, "--json"])).stdout) as { alias: string; version: number }[];
    expect(list).toEqual([expect.objectContaining({ alias, version: 2 })]);
    const backends = (await cli(["backend", "list"])).stdout;
    expect(backends).toContain(name);
    expect(backends).not.toContain("sk-from-env");
  });

  it("refuses a bad target with one error line, and check reports health", async () => {
    const tenant = await makeTenant();
    const bad = await cli(["alias", "set", "--tenant", tenant.slug, "--alias", "x", "--strategy", "single", "--targets", "model:does-not-exist"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("Target #1: there is no model 'does-not-exist'");

    const name = `cli-${uniq()}`;
    await cli(["backend", "add", "--name", name, "--url", "http://127.0.0.1:9/v1", "--no-discover"]);
    const check = await cli(["backend", "check", "--name", name]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`^${name}: unhealthy — `));
    // added without --public: no tenant may route to it until granted
    const notAllowed = await cli(["alias", "set", "--tenant", tenant.slug, "--alias", "y", "--strategy", "single", "--targets", `backend:${name}/m`]);
    expect(notAllowed.code).not.toBe(0);
    expect(notAllowed.stderr).toContain("is not available to this tenant");
  });

  it("backend add/update --vision yes|no|unset sets the image-input declaration; dry-run --image skips text-only targets", async () => {
    const name = `cli-${uniq()}`;
    const added = await cli(["backend", "add", "--name", name, "--url", up.url, "--public", "--vision", "no"]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("images: no (text only)");
    const row = await db().backend.findUniqueOrThrow({ where: { name } });
    expect(row.vision).toBe(false);
    expect((await db().auditLog.findFirstOrThrow({ where: { targetId: row.id, action: "backend.create" } })).actorLabel).toBe("cli");

    const tenant = await makeTenant();
    const alias = `img-${uniq()}`;
    await cli(["alias", "set", "--tenant", tenant.slug, "--alias", alias, "--strategy", "single", "--targets", `backend:${name}/big`]);
    const refused = await cli(["alias", "dry-run", "--tenant", tenant.slug, "--alias", alias, "--message", "look", "--image", "https://example.invalid/a.png"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`The model '${alias}' does not accept image input`);

    const yes = await cli(["backend", "update", "--name", name, "--vision", "yes"]);
    expect(yes.stdout).toBe(`updated backend ${name}: images: yes\n`);
    const dry = await cli(["alias", "dry-run", "--tenant", tenant.slug, "--alias", alias, "--message", "look", "--image", "https://example.invalid/a.png"]);
    expect(dry.stdout).toBe(`chosen: backend:${row.id}/big\nreason: single: single target\nfallbacks: none\n`);

    const unset = await cli(["--json", "backend", "update", "--name", name, "--vision", "unset"]);
    expect(JSON.parse(unset.stdout)).toMatchObject({ name, vision: null });
    expect((await db().backend.findUniqueOrThrow({ where: { name } })).vision).toBeNull();
    expect((await cli(["backend", "list"])).stdout).toMatch(new RegExp(`${name} .* unset`));

    const bad = await cli(["backend", "update", "--name", name, "--vision", "maybe"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--vision: "maybe" is not yes, no or unset');
    const missing = await cli(["backend", "update", "--name", name]);
    expect(missing.code).toBe(2);
  });
});
