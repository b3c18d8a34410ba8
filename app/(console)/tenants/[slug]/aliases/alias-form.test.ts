import { describe, expect, it } from "vitest";
import { AliasForm, aliasFormOf, blankAlias, policyOf } from "./alias-form";

describe("alias form", () => {
  it("refuses a row without a target, on that row", () => {
    const r = AliasForm.safeParse({ ...blankAlias, targets: [{ key: "model:demo" }, { key: "" }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path.join("."), i.message])).toEqual([["targets.1.key", "Choose a target"]]);
  });

  it("round-trips a policy; weights only for weighted, the embedding model only for difficulty", () => {
    const policy = {
      alias: "chat",
      strategy: "weighted" as const,
      strongShare: 0.2,
      embeddingModel: "embed",
      affinity: "session" as const,
      enabled: true,
      targets: [
        { type: "model" as const, model: "demo", weight: 3 },
        { type: "backend" as const, backendId: "b1", model: "gpt/x", weight: 1 },
        { type: "alias" as const, alias: "other" },
      ],
    };
    const form = aliasFormOf(policy);
    expect(form.targets.map((t) => t.key)).toEqual(["model:demo", "backend:b1/gpt/x", "alias:other"]);
    const out = policyOf(AliasForm.parse(form));
    expect(out.targets).toEqual(policy.targets);
    expect(out.embeddingModel).toBeNull();
    const fallback = policyOf(AliasForm.parse({ ...form, strategy: "fallback" }));
    expect(fallback.targets.every((t) => !("weight" in t))).toBe(true);
    expect(policyOf(AliasForm.parse({ ...form, strategy: "difficulty" })).embeddingModel).toBe("embed");
  });
});
