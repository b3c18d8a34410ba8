import { z } from "zod";
import { AFFINITIES, type PolicyTarget, STRATEGIES, targetKey } from "@/server/services/routing/schemas";
import { parseKey } from "./target-key";

/**
 * The alias dialog's form: the policy as the dialog edits it, targets as <select> keys.
 * Only "is every row chosen" is checked here; the policy rules themselves are the
 * server's (CreatePolicyInput / UpdatePolicyInput), applied on submit.
 */
export const AliasForm = z.object({
  alias: z.string(),
  strategy: z.enum(STRATEGIES),
  /** a share, 0..1 (the dialog shows per cent) */
  strongShare: z.number(),
  embeddingModel: z.string().nullable(),
  affinity: z.enum(AFFINITIES),
  enabled: z.boolean(),
  targets: z.array(
    z.object({
      key: z.string().refine((k) => parseKey(k) !== null, "Choose a target"),
      weight: z.number().optional(),
    }),
  ),
});
export type AliasFormValues = z.input<typeof AliasForm>;

export const TARGETS_INCOMPLETE = "Choose every target, or remove the empty rows.";

export const blankAlias: AliasFormValues = {
  alias: "",
  strategy: "fallback",
  strongShare: 0.2,
  embeddingModel: null,
  affinity: "none",
  enabled: true,
  targets: [{ key: "", weight: undefined }],
};

export function aliasFormOf(p: Omit<AliasFormValues, "targets"> & { targets: PolicyTarget[] }): AliasFormValues {
  return {
    alias: p.alias,
    strategy: p.strategy,
    strongShare: p.strongShare,
    embeddingModel: p.embeddingModel,
    affinity: p.affinity,
    enabled: p.enabled,
    targets: p.targets.map((t) => ({ key: targetKey(t), weight: t.weight })),
  };
}

/** The policy fields for create/update; weights only count for "weighted", the embedding model only for "difficulty". */
export function policyOf(v: z.output<typeof AliasForm>) {
  return {
    strategy: v.strategy,
    strongShare: v.strongShare,
    embeddingModel: v.strategy === "difficulty" ? v.embeddingModel : null,
    affinity: v.affinity,
    enabled: v.enabled,
    targets: v.targets.map((t) => ({ ...parseKey(t.key)!, ...(v.strategy === "weighted" && t.weight !== undefined ? { weight: t.weight } : {}) })),
  };
}
