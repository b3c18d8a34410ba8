/**
 * The routing decision, as a pure function of (policy, request features, live
 * state, random source) → decision. No I/O: the service around it loads the
 * policy and health, and the /api/v1 executor walks the decision's order.
 *
 * Every strategy returns an ordered list: the choice first, then the targets to
 * try if it fails before its first token. Unhealthy targets are left out (circuit
 * breaking); the reason says why each was skipped, so a dry run can show it.
 */

export type Strategy = "single" | "fallback" | "weighted" | "least_busy" | "difficulty";

export interface RoutingTarget {
  /** stable identity of the target, e.g. "model:qwen" or "backend:bke_…/gpt-4o" */
  key: string;
  weight?: number;
}

export interface RoutingPolicyInput {
  strategy: Strategy;
  targets: readonly RoutingTarget[];
  /** difficulty: ascending score thresholds, one fewer than targets (tiers weakest → strongest) */
  thresholds?: readonly number[];
}

export interface LiveState {
  healthy(key: string): boolean;
  inFlight(key: string): number;
}

export interface Decision {
  /** indexes into policy.targets: the choice first, then fallbacks; empty when nothing is healthy */
  order: number[];
  reason: string;
  /** difficulty only */
  score?: number;
  tier?: number;
  skipped: { key: string; why: string }[];
}

export type Rng = () => number;

/** Index of the tier a score falls in: the number of thresholds at or below it. */
export function tierOf(score: number, thresholds: readonly number[]): number {
  let tier = 0;
  for (const t of thresholds) if (score >= t) tier++;
  return tier;
}

const fmt = (n: number) => n.toFixed(4);

export function decide(policy: RoutingPolicyInput, features: { score: number } | null, live: LiveState, rng: Rng): Decision {
  const skipped: Decision["skipped"] = [];
  const healthyIdx: number[] = [];
  policy.targets.forEach((t, i) => {
    if (live.healthy(t.key)) healthyIdx.push(i);
    else skipped.push({ key: t.key, why: "unhealthy" });
  });
  const skippedNote = skipped.length ? `; skipped unhealthy ${skipped.map((s) => s.key).join(", ")}` : "";
  if (healthyIdx.length === 0) return { order: [], reason: `no healthy target${skippedNote}`, skipped };

  switch (policy.strategy) {
    case "single":
    case "fallback": {
      const first = healthyIdx[0]!;
      const why = policy.strategy === "single" ? "single target" : first === 0 ? "first in chain" : `first healthy in chain (#${first + 1})`;
      return { order: healthyIdx, reason: `${policy.strategy}: ${why}${skippedNote}`, skipped };
    }
    case "weighted": {
      const weights = healthyIdx.map((i) => Math.max(0, policy.targets[i]!.weight ?? 1));
      const total = weights.reduce((a, b) => a + b, 0);
      let r = rng() * total;
      let pick = healthyIdx.length - 1;
      for (let j = 0; j < weights.length; j++) {
        r -= weights[j]!;
        if (r < 0) {
          pick = j;
          break;
        }
      }
      const chosen = healthyIdx[pick]!;
      const rest = healthyIdx.filter((i) => i !== chosen).sort((a, b) => (policy.targets[b]!.weight ?? 1) - (policy.targets[a]!.weight ?? 1));
      const share = total > 0 ? (weights[pick]! / total) * 100 : 0;
      return { order: [chosen, ...rest], reason: `weighted: drew ${policy.targets[chosen]!.key} (weight share ${share.toFixed(1)}%)${skippedNote}`, skipped };
    }
    case "least_busy": {
      // Stable sort: ties keep the policy's order, so an idle system is predictable.
      const ranked = [...healthyIdx].sort((a, b) => live.inFlight(policy.targets[a]!.key) - live.inFlight(policy.targets[b]!.key));
      const load = ranked.map((i) => `${policy.targets[i]!.key}=${live.inFlight(policy.targets[i]!.key)}`).join(", ");
      return { order: ranked, reason: `least_busy: in flight ${load}${skippedNote}`, skipped };
    }
    case "difficulty": {
      const score = features?.score ?? 0;
      const thresholds = policy.thresholds ?? [];
      const wanted = Math.min(tierOf(score, thresholds), policy.targets.length - 1);
      // If the wanted tier is down, prefer a stronger one (quality over cost), then weaker ones.
      const stronger = healthyIdx.filter((i) => i >= wanted);
      const weaker = healthyIdx.filter((i) => i < wanted).reverse();
      const order = [...stronger, ...weaker];
      const chosen = order[0]!;
      const cmp =
        wanted === 0
          ? thresholds.length
            ? `< ${fmt(thresholds[0]!)}`
            : "(no thresholds)"
          : `≥ ${fmt(thresholds[wanted - 1]!)}${wanted < thresholds.length ? ` and < ${fmt(thresholds[wanted]!)}` : ""}`;
      const moved = chosen !== wanted ? `, tier ${wanted + 1} unhealthy so tier ${chosen + 1}` : "";
      return {
        order,
        reason: `difficulty: score=${fmt(score)} ${cmp} → tier ${wanted + 1}/${policy.targets.length}${moved}${skippedNote}`,
        score,
        tier: chosen,
        skipped,
      };
    }
  }
}

/**
 * Thresholds for `tiers` tiers such that `shareToStrongest` of the given scores
 * reach the strongest tier, and the rest is split evenly between the others.
 * Quantiles of the tenant's own history: the share holds for traffic like it.
 */
export function calibrate(scores: readonly number[], shareToStrongest: number, tiers: number): number[] {
  if (tiers < 2) return [];
  if (scores.length === 0) return defaultThresholds(shareToStrongest, tiers);
  const sorted = [...scores].sort((a, b) => a - b);
  const n = sorted.length;
  const q = (p: number) => {
    // The value at rank ceil(p·n): exactly n − that many scores lie at or above it when scores are distinct.
    const k = Math.min(n - 1, Math.max(0, Math.round(p * n)));
    return sorted[k]!;
  };
  const weakMass = 1 - shareToStrongest;
  const out: number[] = [];
  for (let i = 1; i < tiers; i++) out.push(q((weakMass * i) / (tiers - 1)));
  // Ties in the history could make thresholds equal; keep them non-decreasing.
  for (let i = 1; i < out.length; i++) if (out[i]! < out[i - 1]!) out[i] = out[i - 1]!;
  return out;
}

/** Before there is history: thresholds on the score's own [0, 1] scale. */
export function defaultThresholds(shareToStrongest: number, tiers: number): number[] {
  const weakMass = 1 - shareToStrongest;
  const out: number[] = [];
  for (let i = 1; i < tiers; i++) out.push((weakMass * i) / (tiers - 1));
  return out;
}
