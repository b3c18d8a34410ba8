/**
 * Input shapes for body logging and retention — shared by tRPC, the CLI and the console
 * forms (client-safe: zod only).
 *
 * A tenant's own redaction patterns are validated here, when saved: a length cap, they
 * must compile (with `u`), and the constructs behind catastrophic backtracking are
 * refused — backreferences, lookaround, and a quantifier on a group that itself contains
 * a quantifier (nested quantifiers, "star height" > 1). custom-patterns.ts runs them
 * with a time limit as the backstop.
 */
import { z } from "zod";

export interface CustomPattern {
  /** shown in the marker: [REDACTED:<name> …] */
  name: string;
  pattern: string;
  /** "i" or "" (g and u are always on) */
  flags?: "" | "i";
}

/** Why `pattern` is refused, or null when it is acceptable. */
export function checkPattern(pattern: string, flags = ""): string | null {
  if (pattern.length === 0) return "is empty";
  if (pattern.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (!/^i?$/.test(flags)) return 'flags may only be "i"';
  try {
    new RegExp(pattern, `gu${flags}`);
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message}`;
  }
  return safeStructure(pattern);
}

export const MAX_PATTERNS = 20;
export const MAX_PATTERN_LENGTH = 200;

/** Scans the pattern's syntax for the constructs named in the header. */
function safeStructure(p: string): string | null {
  // one frame per open group: whether a quantifier occurred inside it
  const groups: boolean[] = [];
  let inClass = false;
  let lastWasGroupWithQuantifier = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "\\") {
      const n = p[i + 1] ?? "";
      if (!inClass && (/[1-9]/.test(n) || n === "k")) return "may not use backreferences";
      i++;
      lastWasGroupWithQuantifier = false;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      lastWasGroupWithQuantifier = false;
      continue;
    }
    if (c === "(") {
      if (p.startsWith("(?=", i) || p.startsWith("(?!", i) || p.startsWith("(?<=", i) || p.startsWith("(?<!", i)) {
        return "may not use lookahead or lookbehind";
      }
      groups.push(false);
      lastWasGroupWithQuantifier = false;
      continue;
    }
    if (c === ")") {
      const hadQuantifier = groups.pop() ?? false;
      if (hadQuantifier && groups.length > 0) groups[groups.length - 1] = true;
      lastWasGroupWithQuantifier = hadQuantifier;
      continue;
    }
    const quantifier = c === "*" || c === "+" || c === "?" || (c === "{" && /^\{\d+(,\d*)?\}/.test(p.slice(i)));
    if (quantifier) {
      // `?` after a quantifier makes it lazy, and after "(" it is a group modifier: neither is a new quantifier
      if (c === "?" && (p[i - 1] === "(" || /[*+?}]/.test(p[i - 1] ?? ""))) continue;
      if (lastWasGroupWithQuantifier) return "may not nest quantifiers (like (a+)+), which can take exponential time";
      if (groups.length > 0) groups[groups.length - 1] = true;
      if (c === "{") i = p.indexOf("}", i);
      lastWasGroupWithQuantifier = false;
      continue;
    }
    lastWasGroupWithQuantifier = false;
  }
  return null;
}

export const CustomPatternSchema = z
  .object({
    name: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9_]{0,31}$/, "use lower-case letters, digits and _ (at most 32), starting with a letter"),
    pattern: z.string().min(1).max(MAX_PATTERN_LENGTH),
    flags: z.enum(["", "i"]).optional(),
  })
  .superRefine((v, ctx) => {
    const why = checkPattern(v.pattern, v.flags ?? "");
    if (why) ctx.addIssue({ code: "custom", path: ["pattern"], message: `The pattern ${why}` });
  });

export const CustomPatternsSchema = z.array(CustomPatternSchema).max(MAX_PATTERNS);


export const LogPolicyInput = z.object({
  tenantId: z.string().min(1),
  bodiesEnabled: z.boolean(),
  /** null = every key (and console tokens); otherwise only these keys' requests */
  bodyKeyIds: z.array(z.string().min(1)).max(1000).nullable(),
  bodySampleRate: z.number().min(0, "Use a share from 0 to 1").max(1, "Use a share from 0 to 1"),
  redactPatterns: CustomPatternsSchema,
  bodyRetentionDays: z.number().int().min(1, "Keep bodies at least 1 day").max(3650),
  /** null = the platform default (USAGE_RETENTION_DAYS) */
  usageRetentionDays: z.number().int().min(1).max(3650).nullable(),
  viewersSeeBodies: z.boolean(),
});
export type LogPolicyInput = z.infer<typeof LogPolicyInput>;
