/**
 * Redaction of request and response text before it is stored: pure, no I/O.
 *
 * Built-in detectors find API-key-shaped secrets (ours, `sk-sy-…`, and common provider
 * formats), bearer tokens, JWTs, private-key blocks, e-mail addresses and card numbers
 * (Luhn-checked, so order numbers and timestamps stay). Tenants add their own patterns
 * (see custom-patterns.ts for how those are validated and run). Every hit becomes
 *
 *   [REDACTED:kind len=N hash=xxxxxxxx]
 *
 * N is the length of what was removed in characters (code points) and the hash is a
 * keyed HMAC of it, so the same secret is recognisable across requests while a short
 * value (an e-mail) can't be recovered by hashing guesses without the server key.
 * Overlapping hits are merged into one redaction: the union is removed, so a match
 * cut short by another never leaves part of a secret behind.
 */
import { createHmac } from "node:crypto";

export type RedactionKind = "private_key" | "api_key" | "jwt" | "bearer" | "card" | "email" | (string & {});

export interface Span {
  start: number;
  end: number;
  kind: RedactionKind;
}

interface Detector {
  kind: RedactionKind;
  pattern: RegExp;
  /** which capture group is the secret (default: the whole match) */
  group?: number;
  accept?: (match: string) => boolean;
}

/** Order is precedence: when hits overlap, the merged redaction is named after the earliest detector. */
const DETECTORS: Detector[] = [
  { kind: "private_key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]{0,20000}?-----END [A-Z ]*PRIVATE KEY-----/g },
  {
    kind: "api_key",
    pattern: new RegExp(
      [
        "sk-sy-[0-9A-Za-z]{20,}", // ours (43 characters after the prefix; shorter fragments too)
        "sk-ant-[A-Za-z0-9_-]{20,}", // Anthropic
        "sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", // OpenAI and look-alikes (DeepSeek, OpenRouter sk-or-…)
        "(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", // Stripe
        "gh[pousr]_[A-Za-z0-9]{30,}",
        "github_pat_[A-Za-z0-9_]{30,}",
        "glpat-[A-Za-z0-9_-]{20,}", // GitLab
        "xox[abprs]-[A-Za-z0-9-]{10,}", // Slack
        "(?:AKIA|ASIA)[0-9A-Z]{16}", // AWS access key ids
        "AIza[0-9A-Za-z_-]{35}", // Google
        "hf_[A-Za-z0-9]{30,}", // Hugging Face
        "gsk_[A-Za-z0-9]{20,}", // Groq
        "r8_[A-Za-z0-9]{30,}", // Replicate
        "pplx-[A-Za-z0-9]{30,}", // Perplexity
      ]
        .map((p) => `(?<![A-Za-z0-9_-])${p}`)
        .join("|"),
      "g",
    ),
  },
  { kind: "jwt", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  // the token only: "Bearer " stays readable
  { kind: "bearer", pattern: /\b[Bb]earer[ \t]+([A-Za-z0-9._~+/-]{8,}=*)/g, group: 1 },
  { kind: "card", pattern: /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g, accept: (m) => luhn(m.replace(/[ -]/g, "")) },
  {
    kind: "email",
    pattern: /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63})*\.\p{L}{2,24}/gu,
  },
];

/** The Luhn checksum card numbers carry (13–19 digits). */
export function luhn(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Hits of the built-in detectors in `text`, unmerged. */
export function builtinSpans(text: string): Span[] {
  const spans: Span[] = [];
  for (const d of DETECTORS) {
    d.pattern.lastIndex = 0;
    for (const m of text.matchAll(d.pattern)) {
      const value = d.group ? m[d.group] : m[0];
      if (!value || (d.accept && !d.accept(value))) continue;
      const start = m.index + (d.group ? m[0].indexOf(value) : 0);
      spans.push({ start, end: start + value.length, kind: d.kind });
    }
  }
  return spans;
}

const precedence = (kind: RedactionKind) => {
  const i = DETECTORS.findIndex((d) => d.kind === kind);
  return i < 0 ? DETECTORS.length : i;
};

/** Merges overlapping (or touching) spans into their union, named after the highest-precedence kind among them. */
export function mergeSpans(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) {
      last.end = Math.max(last.end, s.end);
      if (precedence(s.kind) < precedence(last.kind)) last.kind = s.kind;
    } else {
      out.push({ ...s });
    }
  }
  return out;
}

/** Characters (code points, not UTF-16 units) in `s`. */
export const codePoints = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export function marker(kind: RedactionKind, value: string, hashKey: Uint8Array): string {
  const hash = createHmac("sha256", hashKey).update(value, "utf8").digest("hex").slice(0, 8);
  return `[REDACTED:${kind} len=${codePoints(value)} hash=${hash}]`;
}

/** `text` with every span replaced by its marker; `spans` need not be merged. */
export function applySpans(text: string, spans: Span[], hashKey: Uint8Array): { text: string; count: number } {
  if (spans.length === 0) return { text, count: 0 };
  const merged = mergeSpans(spans);
  let out = "";
  let at = 0;
  for (const s of merged) {
    out += text.slice(at, s.start) + marker(s.kind, text.slice(s.start, s.end), hashKey);
    at = s.end;
  }
  return { text: out + text.slice(at), count: merged.length };
}

/** Built-in redaction of one string (custom patterns: see custom-patterns.ts). */
export function redactText(text: string, hashKey: Uint8Array, extra: Span[] = []): { text: string; count: number } {
  return applySpans(text, [...builtinSpans(text), ...extra], hashKey);
}
