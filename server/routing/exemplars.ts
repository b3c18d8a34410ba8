/**
 * A small built-in set of easy and hard requests. With an embedding model, a
 * conversation's difficulty feature is how much closer it sits to the hard ones
 * than to the easy ones (cosine similarity to each set's centroid) — RouteLLM's
 * idea of routing by similarity to labelled prompts, with labels we can ship.
 * Thresholds are still calibrated on the tenant's traffic, so only the ranking
 * this produces matters, not its scale.
 */
export const EASY_EXEMPLARS = [
  "Hi! How are you?",
  "Thanks, that's all.",
  "What is the capital of France?",
  "Translate 'good morning' into Spanish.",
  "Give me a synonym for happy.",
  "What time zone is London in?",
  "Say hello to my friend Ana.",
  "Convert 5 kilometres to miles.",
];

export const HARD_EXEMPLARS = [
  "Prove that there are infinitely many primes, then generalise the argument to primes of the form 4k+3.",
  "This recursive function overflows the stack for large inputs; rewrite it iteratively and explain the invariant:\n```\nfunction f(n) { return n <= 1 ? n : f(n - 1) + f(n - 2); }\n```",
  "Design a rate limiter for a multi-region API with a shared budget; compare token bucket and sliding window and analyse failure modes.",
  "Derive the gradient of softmax cross-entropy with respect to the logits, step by step.",
  "Why does this SQL query with a correlated subquery run in quadratic time, and how would you index and rewrite it?",
  "Find the eigenvalues of [[2,1],[1,2]] and explain what they say about the quadratic form.",
  "Debug this race condition between two goroutines writing to a map and propose a lock-free alternative.",
  "Compare the trade-offs of eventual and strong consistency for a collaborative editor and justify a design.",
];

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

export function centroid(vectors: readonly (readonly number[])[]): number[] {
  const n = vectors.length;
  const out = new Array<number>(vectors[0]?.length ?? 0).fill(0);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i]! += v[i]! / n;
  return out;
}

/** In [0, 1]: 0.5 when equally close to both sets, towards 1 when closer to the hard ones. */
export function hardness(v: readonly number[], easy: readonly number[], hard: readonly number[]): number {
  const d = cosine(v, hard) - cosine(v, easy); // in [-2, 2]
  return Math.min(1, Math.max(0, 0.5 + d));
}
