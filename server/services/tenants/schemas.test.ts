import { describe, expect, it } from "vitest";
import { CreateTenantInput, TenantName, TenantSlug, TenantStatusInput, UpdateTenantInput } from "./schemas";

const messages = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => i.message);

describe("TenantSlug", () => {
  it.each([
    ["ab", "ab"],
    ["acme", "acme"],
    ["acme-co-2", "acme-co-2"],
    ["  Acme-Co ", "acme-co"],
    ["a".repeat(40), "a".repeat(40)],
    ["9lives", "9lives"],
  ])("accepts %j as %j", (raw, want) => {
    expect(TenantSlug.parse(raw)).toBe(want);
  });

  it.each([
    ["", "Use at least 2 characters"],
    ["a", "Use at least 2 characters"],
    ["   a   ", "Use at least 2 characters"],
    ["a".repeat(41), "Use at most 40 characters"],
    ["-acme", "Use lower-case letters, digits and dashes (not at the ends)"],
    ["acme-", "Use lower-case letters, digits and dashes (not at the ends)"],
    ["ac_me", "Use lower-case letters, digits and dashes (not at the ends)"],
    ["ac me", "Use lower-case letters, digits and dashes (not at the ends)"],
    ["acmé", "Use lower-case letters, digits and dashes (not at the ends)"],
  ])("rejects %j: %s", (raw, message) => {
    expect(messages(TenantSlug.safeParse(raw))).toContain(message);
  });
});

describe("TenantName", () => {
  it("trims", () => {
    expect(TenantName.parse("  Acme Corp  ")).toBe("Acme Corp");
    expect(TenantName.parse("x".repeat(100))).toHaveLength(100);
  });
  it.each([
    ["", "Enter a name"],
    ["   ", "Enter a name"],
    ["x".repeat(101), "Use at most 100 characters"],
  ])("rejects %j: %s", (raw, message) => {
    expect(messages(TenantName.safeParse(raw))).toEqual([message]);
  });
});

describe("tenant inputs", () => {
  it("CreateTenantInput reports each field by path", () => {
    const r = CreateTenantInput.safeParse({ slug: "x", name: "" });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["slug", "Use at least 2 characters"],
      ["name", "Enter a name"],
    ]);
  });
  it("UpdateTenantInput needs a name and drops unknown keys", () => {
    expect(UpdateTenantInput.parse({ name: " N ", slug: "ignored" })).toEqual({ name: "N" });
    expect(UpdateTenantInput.safeParse({}).success).toBe(false);
  });
  it("TenantStatusInput accepts active and suspended only", () => {
    expect(TenantStatusInput.options).toEqual(["active", "suspended"]);
    expect(TenantStatusInput.safeParse("deleted").success).toBe(false);
  });
});
