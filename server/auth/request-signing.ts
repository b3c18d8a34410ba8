/**
 * Signed requests (per API key, opt-in): the caller proves it holds the key's signing
 * secret and binds the request to one moment, so a leaked key alone is useless and a
 * captured request cannot be replayed. Pure functions, no I/O (the replay cache is
 * server/auth/replay-cache.ts; the pipeline wires both in).
 *
 *   X-Switchyard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, canonical)>
 *   canonical = "<t>.<METHOD>.<path>.<hex SHA-256 of the raw body>"
 *
 * - secret: the whole signing secret string as issued ("sy-sig-…"), as UTF-8 bytes.
 * - METHOD: upper case ("POST", "GET").
 * - path: the path the client called, INCLUDING the base path and the query string if
 *   any ("/llm/api/v1/chat/completions", "/api/v1/models?x=1"), exactly as sent.
 * - body: the exact bytes sent; an empty body (GET) hashes "" →
 *   e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.
 *
 * The server accepts t within ±window seconds of its clock (SIGNATURE_WINDOW_SECONDS,
 * default 300), compares in constant time, and accepts each signature once.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { base62 } from "./key-format";

export const SIGNATURE_HEADER = "x-switchyard-signature";
export const SIGNING_SECRET_PREFIX = "sy-sig-";
const SECRET_BODY_LENGTH = 43; // 32 random bytes in base62
export const SIGNING_SECRET_PATTERN = new RegExp(`${SIGNING_SECRET_PREFIX}[0-9A-Za-z]{${SECRET_BODY_LENGTH}}`);
export const EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export type SignatureFailure = "signature_required" | "signature_invalid" | "signature_expired" | "signature_replayed";

export function generateSigningSecret(random: (n: number) => Uint8Array = randomBytes): string {
  return SIGNING_SECRET_PREFIX + base62(random(32), SECRET_BODY_LENGTH);
}

export function sha256Hex(body: Uint8Array | string): string {
  return createHash("sha256").update(body).digest("hex");
}

export function canonicalString(t: number, method: string, path: string, bodySha256: string): string {
  return `${t}.${method.toUpperCase()}.${path}.${bodySha256}`;
}

export function signatureFor(secret: string, t: number, method: string, path: string, body: Uint8Array | string): string {
  return createHmac("sha256", secret).update(canonicalString(t, method, path, sha256Hex(body))).digest("hex");
}

/** The header value for a request (what a client sends). */
export function signatureHeader(secret: string, t: number, method: string, path: string, body: Uint8Array | string): string {
  return `t=${t},v1=${signatureFor(secret, t, method, path, body)}`;
}

/** `t=…,v1=…` → its parts (several v1 values allowed); null when malformed. */
export function parseSignatureHeader(value: string): { t: number; v1: string[] } | null {
  if (value.length > 1024) return null;
  let t: number | null = null;
  const v1: string[] = [];
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return null;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "t") {
      if (t !== null || !/^\d{1,12}$/.test(v)) return null;
      t = Number(v);
    } else if (k === "v1") {
      if (!/^[0-9a-fA-F]{64}$/.test(v)) return null;
      v1.push(v.toLowerCase());
    } // other schemes are ignored (room for v2)
  }
  if (t === null || v1.length === 0 || v1.length > 4) return null;
  return { t, v1 };
}

export interface VerifyInput {
  header: string | null;
  /** the secrets that may have signed: the current one, and the previous one during a rotation grace */
  secrets: string[];
  method: string;
  path: string;
  body: Uint8Array;
  /** seconds since the epoch */
  now: number;
  windowSeconds: number;
}

export type VerifyResult = { ok: true; t: number; signature: string } | { ok: false; code: SignatureFailure };

/**
 * Checks a signature: well-formed, made with one of `secrets` over this request, and
 * within the window (checked after the HMAC, so "expired" is only said of a real
 * signature). Replays are the caller's to check (with the returned signature).
 */
export function verifySignature(input: VerifyInput): VerifyResult {
  if (!input.header) return { ok: false, code: "signature_required" };
  const parsed = parseSignatureHeader(input.header);
  if (!parsed) return { ok: false, code: "signature_invalid" };
  const bodyHash = sha256Hex(input.body);
  const canonical = canonicalString(parsed.t, input.method, input.path, bodyHash);
  let matched: string | null = null;
  for (const secret of input.secrets) {
    const expected = createHmac("sha256", secret).update(canonical).digest();
    for (const candidate of parsed.v1) {
      // constant time: both sides are 32 bytes (the header's hex was checked above)
      if (timingSafeEqual(expected, Buffer.from(candidate, "hex")) && matched === null) matched = candidate;
    }
  }
  if (matched === null) return { ok: false, code: "signature_invalid" };
  if (Math.abs(input.now - parsed.t) > input.windowSeconds) return { ok: false, code: "signature_expired" };
  return { ok: true, t: parsed.t, signature: matched };
}

/**
 * The path the client called and signed: route handlers under Next's basePath see
 * req.url without it (NOTES pitfall 4), so it is put back from BASE_PATH.
 */
export function signedPath(reqUrl: string, basePath: string): string {
  const url = new URL(reqUrl);
  const prefixed = basePath && url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`);
  return (prefixed ? basePath + url.pathname : url.pathname) + url.search;
}
