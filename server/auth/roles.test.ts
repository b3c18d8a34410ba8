import { describe, expect, it } from "vitest";
import type { Role } from "../db/client";
import { ROLE_RANK, hasRole } from "./roles";

const ORDER: Role[] = ["viewer", "member", "admin", "owner"];

describe("roles", () => {
  it("ranks viewer < member < admin < owner", () => {
    expect([...ORDER].sort((a, b) => ROLE_RANK[a] - ROLE_RANK[b])).toEqual(ORDER);
    expect(new Set(Object.values(ROLE_RANK)).size).toBe(4);
  });

  // the full matrix, written out: a role satisfies itself and everything below it
  it.each([
    ["viewer", ["viewer"]],
    ["member", ["viewer", "member"]],
    ["admin", ["viewer", "member", "admin"]],
    ["owner", ["viewer", "member", "admin", "owner"]],
  ] as [Role, Role[]][])("%s satisfies exactly %j", (actual, satisfied) => {
    for (const required of ORDER) expect(hasRole(actual, required), `${actual} vs ${required}`).toBe(satisfied.includes(required));
  });
});
