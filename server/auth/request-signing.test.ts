import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  EMPTY_BODY_SHA256,
  SIGNING_SECRET_PATTERN,
  canonicalString,
  generateSigningSecret,
  parseSignatureHeader,
  sha256Hex,
  signatureHeader,
  signedPath,
  verifySignature,
} from "./request-signing";
import { MemoryReplayCache } from "./replay-cache";

// The test vectors README.md documents ("Signed requests"): keep both in step.
const SECRET = "sy-sig-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg";
const T = 1767225600;
const BODY = '{"model":"demo","messages":[{"role":"user","content":"Hello"}]}';

describe("test vectors", () => {
  it("POST under a base path", () => {
    expect(sha256Hex(BODY)).toBe("dc3c6ba073ec3808fe892a7d1d0cd0be192ef0716f5fe3211028f3c0137a2278");
    expect(canonicalString(T, "post", "/llm/api/v1/chat/completions", sha256Hex(BODY))).toBe(
      "1767225600.POST./llm/api/v1/chat/completions.dc3c6ba073ec3808fe892a7d1d0cd0be192ef0716f5fe3211028f3c0137a2278",
    );
    expect(signatureHeader(SECRET, T, "POST", "/llm/api/v1/chat/completions", BODY)).toBe(
      "t=1767225600,v1=ec445c50a7b51912a2d62a0ee30b35ac4aec0d7ad673bc18d479e20e48f9030e",
    );
  });

  it("the same body without a base path, and a GET (empty body)", () => {
    expect(signatureHeader(SECRET, T, "POST", "/api/v1/chat/completions", BODY)).toBe(
      "t=1767225600,v1=ed60dad106007ee64269c21e00b3bf736e25ae5fbc2e76bcf98ade0e703d5860",
    );
    expect(sha256Hex("")).toBe(EMPTY_BODY_SHA256);
    expect(signatureHeader(SECRET, T, "GET", "/api/v1/models", "")).toBe(
      "t=1767225600,v1=51a0882fa1d15bbf888f6c7a23892da1c7aba27111495a135e4c8a4d5b7018d5",
    );
  });

  it("is plain HMAC-SHA256 over the canonical string with the secret's UTF-8 bytes as the key", () => {
    const hash = createHash("sha256").update(BODY).digest("hex");
    const v1 = createHmac("sha256", Buffer.from(SECRET, "utf8")).update(`${T}.POST./llm/api/v1/chat/completions.${hash}`).digest("hex");
    expect(signatureHeader(SECRET, T, "POST", "/llm/api/v1/chat/completions", Buffer.from(BODY))).toBe(`t=${T},v1=${v1}`);
  });
});

const req = { method: "POST", path: "/llm/api/v1/chat/completions", body: Buffer.from(BODY), windowSeconds: 300 };
const header = (t = T, secret = SECRET) => signatureHeader(secret, t, req.method, req.path, BODY);

describe("verifySignature", () => {
  it("accepts a valid signature and returns it for the replay check", () => {
    const r = verifySignature({ ...req, header: header(), secrets: [SECRET], now: T });
    expect(r).toEqual({ ok: true, t: T, signature: header().slice(-64) });
  });

  it("missing header: signature_required; malformed: signature_invalid", () => {
    expect(verifySignature({ ...req, header: null, secrets: [SECRET], now: T })).toEqual({ ok: false, code: "signature_required" });
    for (const h of ["v1=abc", `t=${T}`, `t=x,v1=${"0".repeat(64)}`, `t=${T},v1=${"0".repeat(63)}`, `t=1,t=2,v1=${"0".repeat(64)}`]) {
      expect(verifySignature({ ...req, header: h, secrets: [SECRET], now: T }), h).toEqual({ ok: false, code: "signature_invalid" });
    }
  });

  it("a different secret, body byte, path, base path or method: signature_invalid", () => {
    const bad = (over: Partial<typeof req>, secrets = [SECRET]) => verifySignature({ ...req, ...over, header: header(), secrets, now: T });
    expect(bad({}, ["sy-sig-other"])).toEqual({ ok: false, code: "signature_invalid" });
    expect(bad({}, [])).toEqual({ ok: false, code: "signature_invalid" });
    expect(bad({ body: Buffer.from(BODY.replace("Hello", "Hellp")) })).toEqual({ ok: false, code: "signature_invalid" });
    expect(bad({ body: Buffer.from(`${BODY} `) })).toEqual({ ok: false, code: "signature_invalid" });
    expect(bad({ path: "/api/v1/chat/completions" })).toEqual({ ok: false, code: "signature_invalid" });
    expect(bad({ path: "/llm/api/v1/completions" })).toEqual({ ok: false, code: "signature_invalid" });
    expect(bad({ method: "PUT" })).toEqual({ ok: false, code: "signature_invalid" });
  });

  it("the window: exactly ±window is accepted, one second past it is signature_expired (both ways)", () => {
    const at = (t: number, windowSeconds = 300) => verifySignature({ ...req, windowSeconds, header: header(t), secrets: [SECRET], now: T }).ok;
    expect(at(T - 300)).toBe(true);
    expect(at(T + 300)).toBe(true);
    expect(verifySignature({ ...req, header: header(T - 301), secrets: [SECRET], now: T })).toEqual({ ok: false, code: "signature_expired" });
    expect(verifySignature({ ...req, header: header(T + 301), secrets: [SECRET], now: T })).toEqual({ ok: false, code: "signature_expired" });
    // configurable (SIGNATURE_WINDOW_SECONDS)
    expect(at(T - 30, 30)).toBe(true);
    expect(at(T - 31, 30)).toBe(false);
  });

  it("an expired signature made with the wrong secret is invalid, not expired (expiry is only said of real signatures)", () => {
    expect(verifySignature({ ...req, header: header(T - 1000, "sy-sig-x"), secrets: [SECRET], now: T })).toEqual({
      ok: false,
      code: "signature_invalid",
    });
  });

  it("either of two secrets (a rotation grace) signs", () => {
    const previous = generateSigningSecret();
    expect(verifySignature({ ...req, header: header(T, previous), secrets: [SECRET, previous], now: T }).ok).toBe(true);
    expect(verifySignature({ ...req, header: header(T, SECRET), secrets: [previous, SECRET], now: T }).ok).toBe(true);
  });
});

describe("parts", () => {
  it("parses a header with spaces, upper-case hex and unknown schemes", () => {
    expect(parseSignatureHeader(` t=${T} , v1=${"AB".repeat(32)}, v0=zzz`)).toEqual({ t: T, v1: ["ab".repeat(32)] });
  });

  it("generates distinct 256-bit secrets with a recognisable prefix", () => {
    const a = generateSigningSecret();
    expect(a).toMatch(new RegExp(`^${SIGNING_SECRET_PATTERN.source}$`));
    expect(generateSigningSecret()).not.toBe(a);
  });

  it("signedPath puts the base path back (route handlers see req.url without it) and keeps the query", () => {
    expect(signedPath("http://localhost:3000/api/v1/models?x=1", "/llm")).toBe("/llm/api/v1/models?x=1");
    expect(signedPath("http://localhost:3000/api/v1/models", "")).toBe("/api/v1/models");
    expect(signedPath("http://localhost:3000/llm/api/v1/models", "/llm")).toBe("/llm/api/v1/models");
  });
});

describe("MemoryReplayCache", () => {
  it("says seen for the second use within the TTL, per tenant, and forgets after it", async () => {
    const c = new MemoryReplayCache(3);
    expect(await c.seen("t1", "k:sig", 1000, 0)).toBe(false);
    expect(await c.seen("t1", "k:sig", 1000, 500)).toBe(true);
    expect(await c.seen("t2", "k:sig", 1000, 500)).toBe(false);
    expect(await c.seen("t1", "k:sig", 1000, 1001)).toBe(false);
  });

  it("stays bounded", async () => {
    const c = new MemoryReplayCache(3);
    for (let i = 0; i < 10; i++) await c.seen("t", `s${i}`, 60_000, i);
    expect(c.size).toBeLessThanOrEqual(3);
  });
});
