import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { derivePostgresSchema } from "./prisma-generate";

const root = path.resolve(import.meta.dirname, "..");
const read = (p: string) => readFileSync(path.join(root, p), "utf8");
const schema = read("prisma/schema.prisma");

describe("derivePostgresSchema", () => {
  it("changes only the provider and the client output", () => {
    const pg = derivePostgresSchema(schema);
    const a = schema.split("\n");
    const b = pg.split("\n");
    expect(b).toHaveLength(a.length);
    const changed = a.map((line, i) => [line, b[i]!] as const).filter(([x, y]) => x !== y);
    expect(changed).toEqual([
      [expect.stringMatching(/^\s*output\s*=\s*"\.\.\/server\/db\/generated\/sqlite"$/), '  output       = "../../server/db/generated/postgresql"'],
      [expect.stringMatching(/^\s*provider\s*=\s*"sqlite"$/), '  provider = "postgresql"'],
    ]);
  });

  it("fails loudly when the lines it rewrites are not there", () => {
    expect(() => derivePostgresSchema('datasource db {\n  provider = "postgresql"\n}\n')).toThrow(/could not derive/);
    expect(() => derivePostgresSchema(schema.replace(/output\s*=.*\n/, ""))).toThrow(/could not derive/);
  });
});

describe("migrations are in step with the schema", () => {
  // scripts/migration-new.ts copies the schema to the snapshot when it writes a migration;
  // a schema change committed without a migration makes these differ.
  it("prisma/migrations/schema.snapshot.prisma equals prisma/schema.prisma (run `npm run migration:new -- <name>`)", () => {
    expect(read("prisma/migrations/schema.snapshot.prisma")).toBe(schema);
  });
});
