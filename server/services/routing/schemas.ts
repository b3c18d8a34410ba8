/**
 * Input shapes for routing policies (aliases) — shared by tRPC and the console
 * (client-safe: zod only). What needs the database (does the target exist, is
 * there a cycle through aliases) is checked by the service at save time.
 */
import { z } from "zod";
import { ModelName } from "../models/schemas";

export const STRATEGIES = ["single", "fallback", "weighted", "least_busy", "difficulty"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const Alias = ModelName;

/** "session": a conversation stays on one healthy target (server/routing/affinity.ts) */
export const AFFINITIES = ["none", "session"] as const;
export type AffinityName = (typeof AFFINITIES)[number];

const Weight = z.number({ message: "A weight is a number" }).positive("Weights must be positive").max(1_000_000).optional();

export const PolicyTarget = z.discriminatedUnion(
  "type",
  [
    /** a local model (Model row) */
    z.object({ type: z.literal("model"), model: ModelName, weight: Weight }),
    /** a model served by a remote backend */
    z.object({ type: z.literal("backend"), backendId: z.string().trim().min(1, "Choose a backend"), model: z.string().trim().min(1, "Enter the backend's model id").max(200), weight: Weight }),
    /** another alias of the same tenant (its policy decides in turn) */
    z.object({ type: z.literal("alias"), alias: Alias, weight: Weight }),
  ],
  { message: 'A target is {type:"model",model} | {type:"backend",backendId,model} | {type:"alias",alias}' },
);
export type PolicyTarget = z.infer<typeof PolicyTarget>;

export const MAX_TARGETS = 16;

const PolicyFields = {
  strategy: z.enum(STRATEGIES, { message: `Choose a strategy: ${STRATEGIES.join(", ")}` }),
  /** in order: the fallback chain, or the difficulty tiers from weakest to strongest */
  targets: z.array(PolicyTarget, { message: "Give a list of targets" }).min(1, "Add at least one target").max(MAX_TARGETS, `Use at most ${MAX_TARGETS} targets`),
  /** difficulty: the share of requests the strongest tier should get (thresholds are calibrated to it) */
  strongShare: z.number().gt(0, "The share must be above 0").lt(1, "The share must be below 1").default(0.2),
  /** difficulty: a local embedding model whose similarity to built-in easy/hard examples joins the score */
  embeddingModel: ModelName.nullish(),
  affinity: z.enum(AFFINITIES, { message: `Choose an affinity: ${AFFINITIES.join(", ")}` }).default("none"),
  enabled: z.boolean().default(true),
};

type PolicyShape = { strategy: StrategyName; targets: PolicyTarget[]; embeddingModel?: string | null };

/** Rules that depend on the strategy, reported on `targets` with a message saying what to change. */
function strategyRules(p: PolicyShape, ctx: z.RefinementCtx) {
  const issue = (message: string) => ctx.addIssue({ code: "custom", path: ["targets"], message });
  if (p.strategy === "single" && p.targets.length !== 1) issue("A single policy has exactly one target");
  if (p.strategy === "difficulty" && p.targets.length < 2) issue("Difficulty routing needs at least two tiers (weakest first, strongest last)");
  if ((p.strategy === "fallback" || p.strategy === "weighted" || p.strategy === "least_busy") && p.targets.length < 2) {
    issue(`A ${p.strategy.replace("_", "-")} policy needs at least two targets (use single for one)`);
  }
  if (p.embeddingModel && p.strategy !== "difficulty") {
    ctx.addIssue({ code: "custom", path: ["embeddingModel"], message: "An embedding model only matters for difficulty routing" });
  }
  const keys = p.targets.map(targetKey);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) issue(`The target ${dup} is listed twice`);
}

export const CreatePolicyInput = z.object({ alias: Alias, ...PolicyFields }).superRefine(strategyRules);
export type CreatePolicyInput = z.input<typeof CreatePolicyInput>;

export const UpdatePolicyInput = z.object({ policyId: z.string().min(1, "policyId is required"), ...PolicyFields }).superRefine(strategyRules);
export type UpdatePolicyInput = z.input<typeof UpdatePolicyInput>;

export const PolicyIdInput = z.object({ policyId: z.string().min(1, "policyId is required") });

export const RestorePolicyInput = z.object({
  policyId: z.string().min(1, "policyId is required"),
  version: z.number().int("A version is a whole number").min(1, "Versions start at 1"),
});

/** A dry run's message parts: text, and images (only whether there are any matters to routing). */
const DryRunPart = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().max(200_000) }),
  z.object({ type: z.literal("image"), url: z.string().min(1, "Give the image's URL").max(2_000_000) }),
]);

export const DryRunInput = z.object({
  alias: Alias,
  messages: z
    .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.union([z.string().max(200_000), z.array(DryRunPart).max(100)]) }))
    .min(1, "Paste at least one message")
    .max(500),
});
export type DryRunInput = z.input<typeof DryRunInput>;

/** Stable identity of a target (router keys, usage log, duplicate detection). */
export function targetKey(t: PolicyTarget): string {
  return t.type === "model" ? `model:${t.model}` : t.type === "backend" ? `backend:${t.backendId}/${t.model}` : `alias:${t.alias}`;
}
