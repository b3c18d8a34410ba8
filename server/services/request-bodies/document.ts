/**
 * The stored form of one request/answer pair, and how it is made safe to store:
 * neutral request (whatever the dialect) + assembled answer → JSON document →
 * every string redacted (built-in detectors + the tenant's patterns) → size cap.
 *
 * Redaction runs before the cap, so the cap can never cut a secret in half and leave
 * a fragment the detectors no longer recognise. The cap shortens strings (answer
 * first in line, then the request in order) rather than cutting the JSON, so what is
 * stored always parses and the console can show it; `truncated` says it happened.
 */
import type { GenerationResult, GatewayRequest } from "../gateway/types";
import { customSpans } from "./custom-patterns";
import type { CustomPattern } from "./schemas";
import { applySpans, builtinSpans } from "./redact";

/** What a request asked: a generation's neutral request, or an embedding's inputs. */
export type CapturedRequest = GatewayRequest | { model: string; input: string[] };

export interface StoredDocument {
  v: 1;
  endpoint: string;
  /** the assembled answer: choices with text, reasoning, refusal and tool calls; null when none came */
  response: { choices: { index: number; text: string; reasoning: string | null; refusal: string | null; toolCalls: { id: string; name: string; arguments: string }[]; finishReason: string }[] } | null;
  request: Record<string, unknown>;
  error: { code: string; message: string } | null;
}

/** data: URIs (images, audio) are never worth storing: replaced by a note of their type and size. */
function elideData(s: string): string {
  if (!s.startsWith("data:") || s.length < 256) return s;
  const comma = s.indexOf(",");
  return `[${s.slice(5, comma > 0 ? Math.min(comma, 64) : 32)}: ${s.length} characters not stored]`;
}

export function toDocument(endpoint: string, request: CapturedRequest, result: GenerationResult | null, error: { code: string; message: string } | null): StoredDocument {
  return {
    v: 1,
    endpoint,
    response: result
      ? {
          choices: result.choices.map((c) => ({
            index: c.index,
            text: c.text,
            reasoning: c.reasoning,
            refusal: c.refusal,
            toolCalls: c.toolCalls.map((t) => ({ id: t.id, name: t.name, arguments: t.arguments })),
            finishReason: c.finishReason,
          })),
        }
      : null,
    // the neutral request as the core ran it; strip nothing but what is not text worth reading
    request: mapStrings(JSON.parse(JSON.stringify(request)) as unknown, elideData) as Record<string, unknown>,
    error,
  };
}

/** `value` with every string (not object keys) replaced by fn(string), in depth-first order. */
export function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === "string") return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, fn);
    return out;
  }
  return value;
}

function collectStrings(value: unknown, into: string[]): string[] {
  mapStrings(value, (s) => (into.push(s), s));
  return into;
}

/** The longest prefix of `s` within `maxBytes` UTF-8 bytes, cut between code points. */
export function cutUtf8(s: string, maxBytes: number): string {
  if (maxBytes <= 0) return "";
  if (Buffer.byteLength(s, "utf8") <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, "utf8");
    if (bytes + b > maxBytes) break;
    bytes += b;
    end += ch.length;
  }
  return s.slice(0, end);
}

const TRUNCATED = "…[truncated]";

/** Shortens strings in depth-first order so that together they take at most `budget` bytes. */
function capStrings(value: unknown, budget: number): { value: unknown; cut: boolean } {
  let left = budget;
  let cut = false;
  const out = mapStrings(value, (s) => {
    const size = Buffer.byteLength(s, "utf8");
    if (size <= left) {
      left -= size;
      return s;
    }
    cut = true;
    const kept = cutUtf8(s, Math.max(0, left));
    left = 0;
    return kept + TRUNCATED;
  });
  return { value: out, cut };
}

export interface PreparedBody {
  body: string;
  bytes: number;
  truncated: boolean;
  redactions: number;
}

/**
 * The document redacted and capped at `maxBytes`, ready to store. Rejects with
 * PatternTimeout when a custom pattern runs too long (the caller stores nothing).
 */
export async function prepareBody(
  doc: StoredDocument,
  opts: { hashKey: Uint8Array; patterns: CustomPattern[]; maxBytes: number },
): Promise<PreparedBody> {
  const texts = collectStrings(doc, []);
  const custom = await customSpans(opts.patterns, texts);
  let redactions = 0;
  let i = 0;
  const redacted = mapStrings(doc, (s) => {
    const r = applySpans(s, [...builtinSpans(s), ...(custom[i++] ?? [])], opts.hashKey);
    redactions += r.count;
    return r.text;
  }) as StoredDocument;

  let body = JSON.stringify(redacted);
  let bytes = Buffer.byteLength(body, "utf8");
  if (bytes <= opts.maxBytes) return { body, bytes, truncated: false, redactions };

  // Strings hold nearly all of the bytes; shrink their budget by the excess until the whole fits.
  let budget = collectStrings(redacted, []).reduce((n, s) => n + Buffer.byteLength(s, "utf8"), 0);
  for (let round = 0; round < 8 && bytes > opts.maxBytes; round++) {
    budget -= bytes - opts.maxBytes + TRUNCATED.length * 4 + 64;
    if (budget < 0) break;
    body = JSON.stringify(capStrings(redacted, budget).value);
    bytes = Buffer.byteLength(body, "utf8");
  }
  if (bytes > opts.maxBytes) {
    // so many small strings that structure alone is over the cap: keep what the request was, nothing more
    body = JSON.stringify({ v: 1, endpoint: doc.endpoint, response: null, request: {}, error: redacted.error, omitted: "larger than the size cap" });
    bytes = Buffer.byteLength(body, "utf8");
  }
  return { body, bytes, truncated: true, redactions };
}
