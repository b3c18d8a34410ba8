import { describe, expect, it } from "vitest";
import { z } from "zod";
import { EnvError } from "../env";
import { Conflict } from "../errors";
import { UsageError } from "./args";
import { CliError, NOT_MIGRATED, describeError, errorLines, shortDate, table, toJson } from "./format";

describe("table", () => {
  it("aligns columns and leaves the last one unpadded", () => {
    expect(table(["SLUG", "NAME", "ID"], [["a", "Alpha Inc", "tnt_1"], ["longer-slug", "B", "tnt_2"]])).toBe(
      ["SLUG         NAME       ID", "a            Alpha Inc  tnt_1", "longer-slug  B          tnt_2"].join("\n"),
    );
  });
});

describe("formatting values", () => {
  it("shortDate is UTC to the minute, '-' for none", () => {
    expect(shortDate(new Date("2026-01-02T03:04:05.678Z"))).toBe("2026-01-02 03:04");
    expect(shortDate(null)).toBe("-");
  });

  it("toJson handles dates and bigints", () => {
    expect(JSON.parse(toJson({ at: new Date("2026-01-02T00:00:00Z"), n: 12n }))).toEqual({
      at: "2026-01-02T00:00:00.000Z",
      n: "12",
    });
  });
});

describe("describeError", () => {
  it("usage errors exit 2, other expected errors exit 1", () => {
    expect(describeError(new UsageError("missing --slug"))).toEqual({ message: "missing --slug", exitCode: 2, unexpected: false });
    expect(describeError(new CliError("nope"))).toMatchObject({ message: "nope", exitCode: 1, unexpected: false });
    expect(describeError(Conflict('The slug "a" is already taken'))).toMatchObject({
      message: 'The slug "a" is already taken',
      exitCode: 1,
      unexpected: false,
    });
  });

  it("zod issues name the flag when the field is one", () => {
    const schema = z.object({ slug: z.string().min(2, "Use at least 2 characters"), other: z.string() });
    const err = schema.safeParse({ slug: "a", other: 1 }).error!;
    const f = describeError(err, ["slug"]);
    expect(f.message).toMatch(/^--slug: Use at least 2 characters; other: /);
    expect(f.exitCode).toBe(1);
  });

  it("a bad environment is one line per variable", () => {
    const f = describeError(new EnvError([{ code: "custom", path: ["AUTH_SECRET"], message: "is required", input: undefined }]));
    expect(errorLines(f)).toBe("error: invalid environment:\n  AUTH_SECRET: is required");
  });

  it("recognises an unmigrated database and an unreachable one from Prisma's error codes", () => {
    const prismaError = (code: string, message: string) => Object.assign(new Error(message), { name: "PrismaClientKnownRequestError", code });
    expect(describeError(prismaError("P2021", "Invalid `x` invocation:\n\n→ 4 code\nThe table `main.Tenant` does not exist")).message).toBe(
      NOT_MIGRATED,
    );
    expect(describeError(prismaError("P1001", "Invalid invocation:\n\nCan't reach database server at 127.0.0.1:1"))).toMatchObject({
      message: "cannot use the database: Can't reach database server at 127.0.0.1:1",
      unexpected: false,
    });
    expect(describeError(prismaError("P2003", "Invalid:\n  frame\nForeign key constraint violated"))).toMatchObject({
      message: "Foreign key constraint violated",
      unexpected: true,
    });
  });

  it("anything else is unexpected and flattened to one line", () => {
    expect(describeError(new Error("first\n  second"))).toEqual({ message: "first second", exitCode: 1, unexpected: true });
    expect(describeError("thrown string")).toMatchObject({ message: "thrown string", unexpected: true });
  });
});
