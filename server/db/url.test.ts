import path from "node:path";
import { describe, expect, it } from "vitest";
import { providerOf, sqlitePathFromUrl } from "./url";

describe("sqlitePathFromUrl", () => {
  it("resolves relative paths against the working directory", () => {
    expect(sqlitePathFromUrl("file:./data/x.db")).toBe(path.resolve(process.cwd(), "data/x.db"));
    expect(sqlitePathFromUrl("file:data/x.db")).toBe(path.resolve(process.cwd(), "data/x.db"));
  });
  it("keeps absolute paths, in both file:/ and file:/// forms, and drops query strings", () => {
    expect(sqlitePathFromUrl("file:/var/lib/s/x.db")).toBe("/var/lib/s/x.db");
    expect(sqlitePathFromUrl("file:///var/lib/s/x.db")).toBe("/var/lib/s/x.db");
    expect(sqlitePathFromUrl("file:/var/lib/s/x.db?connection_limit=1")).toBe("/var/lib/s/x.db");
  });
  it("passes :memory: through", () => {
    expect(sqlitePathFromUrl("file::memory:")).toBe(":memory:");
  });
  it("refuses non-SQLite URLs", () => {
    expect(() => sqlitePathFromUrl("postgresql://x/y")).toThrow(/not a SQLite URL/);
  });
});

describe("providerOf", () => {
  it("tells SQLite from PostgreSQL", () => {
    expect(providerOf("file:./x.db")).toBe("sqlite");
    expect(providerOf("postgresql://u@h/db")).toBe("postgresql");
    expect(providerOf("postgres://u@h/db")).toBe("postgresql");
  });
});
