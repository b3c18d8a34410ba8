import { describe, expect, it } from "vitest";
import { AddMemberInput, ChangeRoleInput, RemoveMemberInput, ROLES, RoleInput } from "./schemas";

describe("member inputs", () => {
  it("RoleInput accepts the four roles and names them when refusing", () => {
    for (const r of ROLES) expect(RoleInput.parse(r)).toBe(r);
    const r = RoleInput.safeParse("superuser");
    expect(r.error!.issues[0]!.message).toBe("Role must be one of: owner, admin, member, viewer");
    expect(RoleInput.safeParse("Owner").success).toBe(false);
  });

  it("AddMemberInput normalises the email and checks both fields", () => {
    expect(AddMemberInput.parse({ email: " Bob@Example.test ", role: "viewer" })).toEqual({
      email: "bob@example.test",
      role: "viewer",
    });
    const r = AddMemberInput.safeParse({ email: "bob", role: "king" });
    expect(r.error!.issues.map((i) => i.path.join("."))).toEqual(["email", "role"]);
  });

  it("ChangeRoleInput and RemoveMemberInput need a membershipId", () => {
    expect(ChangeRoleInput.safeParse({ membershipId: "", role: "admin" }).error!.issues[0]!.path).toEqual(["membershipId"]);
    expect(RemoveMemberInput.safeParse({}).error!.issues[0]!.path).toEqual(["membershipId"]);
    expect(RemoveMemberInput.parse({ membershipId: "mem_1" })).toEqual({ membershipId: "mem_1" });
  });
});
