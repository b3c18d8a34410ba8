import { describe, expect, it } from "vitest";
import { ChangePasswordInput, CreateUserInput, Email, Password, SetUserDisabledInput } from "./schemas";

describe("Email", () => {
  it("trims and lower-cases", () => {
    expect(Email.parse("  Alice@Example.COM ")).toBe("alice@example.com");
  });
  it.each(["", "alice", "alice@", "@example.com", "alice example.com", `${"a".repeat(250)}@example.com`])(
    "rejects %j",
    (raw) => {
      expect(Email.safeParse(raw).success).toBe(false);
    },
  );
  it("says what is wrong in words", () => {
    expect(Email.safeParse("nope").error!.issues[0]!.message).toBe("Enter a valid email address");
  });
});

describe("Password", () => {
  it("needs 10..200 characters", () => {
    expect(Password.safeParse("x".repeat(10)).success).toBe(true);
    expect(Password.safeParse("x".repeat(200)).success).toBe(true);
    expect(Password.safeParse("x".repeat(9)).error!.issues[0]!.message).toBe("Use at least 10 characters");
    expect(Password.safeParse("x".repeat(201)).error!.issues[0]!.message).toBe("Use at most 200 characters");
  });
  it("is not trimmed (spaces are part of a password)", () => {
    expect(Password.parse("  pass phrase  ")).toBe("  pass phrase  ");
  });
});

describe("CreateUserInput", () => {
  it("defaults name to empty and isPlatformAdmin to false", () => {
    expect(CreateUserInput.parse({ email: "A@B.CO", password: "long enough pw" })).toEqual({
      email: "a@b.co",
      name: "",
      password: "long enough pw",
      isPlatformAdmin: false,
    });
  });
  it("reports bad fields by path", () => {
    const r = CreateUserInput.safeParse({ email: "x", password: "short", name: "n".repeat(101), isPlatformAdmin: "yes" });
    expect(r.error!.issues.map((i) => i.path.join(".")).sort()).toEqual(["email", "isPlatformAdmin", "name", "password"]);
  });
});

describe("SetUserDisabledInput and ChangePasswordInput", () => {
  it("need their fields", () => {
    expect(SetUserDisabledInput.safeParse({ userId: "usr_1", disabled: true }).success).toBe(true);
    expect(SetUserDisabledInput.safeParse({ userId: "", disabled: true }).success).toBe(false);
    expect(SetUserDisabledInput.safeParse({ userId: "usr_1", disabled: "true" }).success).toBe(false);
    expect(ChangePasswordInput.safeParse({ currentPassword: "x", newPassword: "long enough pw" }).success).toBe(true);
    expect(ChangePasswordInput.safeParse({ currentPassword: "", newPassword: "long enough pw" }).success).toBe(false);
    expect(ChangePasswordInput.safeParse({ currentPassword: "x", newPassword: "short" }).error!.issues[0]!.path).toEqual([
      "newPassword",
    ]);
  });
});
