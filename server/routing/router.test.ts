import { describe, expect, it } from "vitest";
import { difficultyScore, featuresOf } from "./difficulty";
import { centroid, hardness } from "./exemplars";
import { type LiveState, type RoutingPolicyInput, calibrate, decide, tierOf } from "./router";

/** Deterministic PRNG (mulberry32) so statistical tests are reproducible. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const live = (opts: { down?: string[]; load?: Record<string, number> } = {}): LiveState => ({
  healthy: (k) => !(opts.down ?? []).includes(k),
  inFlight: (k) => opts.load?.[k] ?? 0,
});

const targets = (...keys: string[]) => keys.map((key) => ({ key }));

describe("decide", () => {
  it("single and fallback keep the policy's order and skip unhealthy targets", () => {
    const p: RoutingPolicyInput = { strategy: "fallback", targets: targets("a", "b", "c") };
    expect(decide(p, null, live(), Math.random)).toMatchObject({ order: [0, 1, 2], skipped: [] });
    const d = decide(p, null, live({ down: ["a"] }), Math.random);
    expect(d.order).toEqual([1, 2]);
    expect(d.skipped).toEqual([{ key: "a", why: "unhealthy" }]);
    expect(d.reason).toContain("skipped unhealthy a");
  });

  it("returns an empty order, with the reason, when nothing is healthy", () => {
    const d = decide({ strategy: "single", targets: targets("a") }, null, live({ down: ["a"] }), Math.random);
    expect(d.order).toEqual([]);
    expect(d.reason).toMatch(/no healthy target/);
  });

  it("weighted: 1,000 decisions follow the weights within statistical bounds", () => {
    const p: RoutingPolicyInput = { strategy: "weighted", targets: [{ key: "a", weight: 1 }, { key: "b", weight: 3 }] };
    const rng = seeded(42);
    let b = 0;
    const n = 1000;
    for (let i = 0; i < n; i++) if (decide(p, null, live(), rng).order[0] === 1) b++;
    // Expected 750, σ = √(1000·0.75·0.25) ≈ 13.7: 4σ bounds.
    expect(b).toBeGreaterThan(750 - 55);
    expect(b).toBeLessThan(750 + 55);
  });

  it("weighted: the rest of the healthy targets follow as fallbacks; an unhealthy one is never drawn", () => {
    const p: RoutingPolicyInput = { strategy: "weighted", targets: [{ key: "a", weight: 5 }, { key: "b", weight: 1 }, { key: "c", weight: 2 }] };
    const rng = seeded(7);
    for (let i = 0; i < 200; i++) {
      const d = decide(p, null, live({ down: ["a"] }), rng);
      expect(d.order).toHaveLength(2);
      expect(d.order).not.toContain(0);
    }
    const d = decide(p, null, live(), () => 0.99);
    expect(d.order).toEqual([2, 0, 1]);
  });

  it("least_busy picks the idle target under load, and the order follows the load", () => {
    const p: RoutingPolicyInput = { strategy: "least_busy", targets: targets("a", "b", "c") };
    const d = decide(p, null, live({ load: { a: 4, b: 0, c: 2 } }), Math.random);
    expect(d.order).toEqual([1, 2, 0]);
    expect(d.reason).toContain("b=0");
    // ties keep the policy's order
    expect(decide(p, null, live(), Math.random).order).toEqual([0, 1, 2]);
    // the idle one being down, the next least busy wins
    expect(decide(p, null, live({ load: { a: 4, b: 0, c: 2 }, down: ["b"] }), Math.random).order).toEqual([2, 0]);
  });

  it("difficulty is deterministic for a given score and thresholds", () => {
    const p: RoutingPolicyInput = { strategy: "difficulty", targets: targets("weak", "mid", "strong"), thresholds: [0.3, 0.6] };
    for (const [score, tier] of [
      [0, 0],
      [0.2999, 0],
      [0.3, 1],
      [0.5999, 1],
      [0.6, 2],
      [1, 2],
    ] as const) {
      const a = decide(p, { score }, live(), seeded(1));
      const b = decide(p, { score }, live(), seeded(999));
      expect(a).toEqual(b);
      expect(a.order[0]).toBe(tier);
      expect(a.tier).toBe(tier);
    }
    expect(decide(p, { score: 0.7 }, live(), Math.random).reason).toBe("difficulty: score=0.7000 ≥ 0.6000 → tier 3/3");
  });

  it("difficulty: an unhealthy tier moves up to a stronger one first, then down", () => {
    const p: RoutingPolicyInput = { strategy: "difficulty", targets: targets("weak", "mid", "strong"), thresholds: [0.3, 0.6] };
    expect(decide(p, { score: 0.4 }, live({ down: ["mid"] }), Math.random).order).toEqual([2, 0]);
    expect(decide(p, { score: 0.9 }, live({ down: ["strong"] }), Math.random).order).toEqual([1, 0]);
  });

  it("returns the score it decided on, and the reason starts with it as migration 0012 reads it back", () => {
    const p: RoutingPolicyInput = { strategy: "difficulty", targets: targets("w", "s"), thresholds: [0.5] };
    const d = decide(p, { score: 0.1234 }, live(), Math.random);
    expect(d.score).toBe(0.1234);
    // 0012_request_log_route_score backfills RequestLog.routeScore from rows written before it by this prefix
    expect(d.reason).toMatch(/^difficulty: score=0\.1234 /);
    expect(decide({ strategy: "fallback", targets: targets("w", "s") }, null, live(), Math.random).score).toBeUndefined();
  });
});

describe("calibrate", () => {
  it.each([0.05, 0.2, 0.5])("sends %s of a synthetic history to the strongest tier within 2 pp", (share) => {
    const rng = seeded(Math.round(share * 1000));
    // Skewed, like real traffic: most prompts are easy.
    const history = Array.from({ length: 5000 }, () => rng() ** 2.5);
    const fresh = Array.from({ length: 5000 }, () => rng() ** 2.5);
    for (const tiers of [2, 3, 4]) {
      const th = calibrate(history, share, tiers);
      expect(th).toHaveLength(tiers - 1);
      expect([...th].sort((a, b) => a - b)).toEqual(th);
      const strongest = fresh.filter((s) => tierOf(s, th) === tiers - 1).length / fresh.length;
      expect(Math.abs(strongest - share)).toBeLessThan(0.02);
      // the weaker tiers split the rest evenly
      const inHistory = history.filter((s) => tierOf(s, th) === tiers - 1).length / history.length;
      expect(Math.abs(inHistory - share)).toBeLessThan(0.02);
    }
  });

  it("works on real scores of generated conversations", () => {
    const rng = seeded(3);
    const words = ["hello", "explain why", "def f(x): return x", "prove that 2 + 2 = 4", "thanks", "integral of x", "compare these"];
    const convo = () => {
      const turns = 1 + Math.floor(rng() * 6);
      return Array.from({ length: turns * 2 - 1 }, (_, i) => ({
        role: (i % 2 ? "assistant" : "user") as "user" | "assistant",
        content: Array.from({ length: 1 + Math.floor(rng() ** 3 * 80) }, () => words[Math.floor(rng() * words.length)]).join(" "),
      }));
    };
    const scores = Array.from({ length: 3000 }, () => difficultyScore(featuresOf({ messages: convo() })));
    const [t] = calibrate(scores.slice(0, 1500), 0.2, 2);
    const share = scores.slice(1500).filter((s) => s >= t!).length / 1500;
    expect(Math.abs(share - 0.2)).toBeLessThan(0.03);
  });

  it("without history falls back to thresholds on the score's own scale", () => {
    expect(calibrate([], 0.2, 2)).toEqual([0.8]);
    expect(calibrate([0.1], 0.2, 1)).toEqual([]);
  });
});

describe("difficultyScore", () => {
  it("blends an embedding feature in at a third of the weight, clamped", () => {
    const f = featuresOf({ messages: [{ role: "user", content: "hi" }] });
    const base = difficultyScore(f);
    expect(difficultyScore(f, null)).toBe(base);
    expect(difficultyScore(f, 1)).toBeCloseTo((2 / 3) * base + 1 / 3, 3);
    expect(difficultyScore(f, 7)).toBe(difficultyScore(f, 1));
    expect(difficultyScore(f, 0)).toBeLessThan(base);
  });

  it("hardness is 0.5 between the sets, towards 1 near the hard one", () => {
    expect(hardness([1, 0], [0, 1], [1, 0])).toBe(1);
    expect(hardness([0, 1], [0, 1], [1, 0])).toBe(0);
    expect(hardness([1, 1], [0, 1], [1, 0])).toBeCloseTo(0.5, 6);
    expect(centroid([[1, 0], [0, 1]])).toEqual([0.5, 0.5]);
  });

  it("ranks a long, multi-turn coding question above a greeting", () => {
    const easy = difficultyScore(featuresOf({ messages: [{ role: "user", content: "hi!" }] }));
    const hard = difficultyScore(
      featuresOf({
        messages: [
          { role: "user", content: "Explain why this fails:\n```\nfunction f() {\n  return g();\n}\n```" },
          { role: "assistant", content: "Which error do you see?" },
          { role: "user", content: "Prove the loop terminates; the integral of the cost is ∫ x dx, step by step." },
        ],
      }),
    );
    expect(easy).toBeGreaterThanOrEqual(0);
    expect(hard).toBeLessThanOrEqual(1);
    expect(hard).toBeGreaterThan(easy + 0.3);
  });
});
