import { describe, expect, it } from "vitest";
import { matchRoute } from "./fast-path";

const routes = ["chat/completions", "completions", "embeddings", "models", "models/[...model]", "[...path]", "openapi.json"].map((r) => ({ segments: r.split("/"), name: r }));
const match = (p: string) => matchRoute(routes, p.split("/").filter(Boolean))?.name ?? null;

describe("matchRoute (Next's precedence for the /api/v1 table)", () => {
  it("static beats catch-all, segment by segment", () => {
    expect(match("chat/completions")).toBe("chat/completions");
    expect(match("models")).toBe("models");
    expect(match("models/org/name")).toBe("models/[...model]");
    expect(match("models/x")).toBe("models/[...model]");
    expect(match("openapi.json")).toBe("openapi.json");
  });

  it("anything else is the catch-all; a catch-all needs at least one segment", () => {
    expect(match("chat/completions/extra")).toBe("[...path]");
    expect(match("chat")).toBe("[...path]");
    expect(match("nope")).toBe("[...path]");
    expect(match("")).toBeNull();
    expect(matchRoute([{ segments: ["models", "[...model]"] }], ["models"])).toBeNull();
  });
});
